import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ListDatasetsCommand, ListRecordsCommand, UpdateRecordsCommand } from '@aws-sdk/client-cognito-sync';
import type { Config } from '../../src/config.js';
import { clients, poolWithIdentity, startServer, type TestServer } from '../helpers/server.js';
import { describeWithPostgres, createTestSchema, type TestSchema } from './postgres-support.js';

/**
 * Throttling and quotas hold whichever instance answers: two Cosync instances on one PostgreSQL schema, requests
 * racing through both, and the totals that get through are those of one instance alone.
 */
describeWithPostgres('limits shared by instances on one PostgreSQL database', 'test/storage/postgres-shared-limits.test.ts', () => {
  let schema: TestSchema | undefined;
  let servers: TestServer[] = [];

  afterEach(async () => {
    await Promise.all(servers.map((s) => s.close()));
    servers = [];
    await schema?.truncate();
  });
  afterAll(async () => {
    await schema?.drop();
  });

  /** Two instances on the test schema with the same throttle and limits. */
  async function twoInstances(config: { throttle?: Partial<Config['throttle']>; limits?: Partial<Config['limits']> }) {
    schema ??= await createTestSchema('shared_limits');
    const storage = { engine: 'postgres', url: schema.url, poolSize: 4, statementTimeoutMs: 5000, connectTimeoutMs: 5000 } as const;
    servers = [await startServer({ config: { storage, ...config } })];
    servers.push(await startServer({ config: { storage, ...config } }));
    return servers;
  }

  /** Every call at once, alternating between the instances; the names of what came back, sorted. */
  async function outcomes<T>(count: number, call: (server: TestServer, i: number) => Promise<T>): Promise<Record<string, number>> {
    const settled = await Promise.allSettled(Array.from({ length: count }, (_, i) => call(servers[i % servers.length]!, i)));
    const tally: Record<string, number> = {};
    for (const s of settled) {
      const name = s.status === 'rejected' ? (s.reason as Error).name : typeof s.value === 'string' ? s.value : 'ok';
      tally[name] = (tally[name] ?? 0) + 1;
    }
    return tally;
  }

  describe('limits shared by instances on one PostgreSQL database', () => {
    it("throttle: an identity pool's burst is spent once, across both instances", async () => {
      // A rate so low nothing refills during the test: what gets through is exactly the burst.
      const [a] = await twoInstances({ throttle: { poolRatePerSecond: 0.001, poolBurst: 12, identityRatePerSecond: 0 } });
      // GetId, unsigned, takes a token of the pool's bucket for unsigned calls, not of this one.
      const { poolId, identityId } = await poolWithIdentity(a!);
      const ref = { IdentityPoolId: poolId, IdentityId: identityId, DatasetName: 'throttled' };
      const tally = await outcomes(40, (s) => clients(s).sync.send(new ListRecordsCommand(ref)));
      expect(tally).toEqual({ ok: 12, TooManyRequestsException: 28 });
    });

    it("throttle: an identity's burst is spent once, across both instances, and apart from other identities", async () => {
      const [a] = await twoInstances({ throttle: { identityRatePerSecond: 0.001, identityBurst: 5, poolRatePerSecond: 0 } });
      const first = await poolWithIdentity(a!);
      const second = await poolWithIdentity(a!, 'other_pool');
      const refs = [first, second].map((p) => ({ IdentityPoolId: p.poolId, IdentityId: p.identityId, DatasetName: 'd' }));
      const tally = await outcomes(30, (s, i) => clients(s).sync.send(new ListRecordsCommand(refs[i % 4 < 2 ? 0 : 1]!))
        .then(() => `ok${i % 4 < 2 ? 0 : 1}`));
      expect(tally).toEqual({ ok0: 5, ok1: 5, TooManyRequestsException: 20 });
    });

    it('quotas: datasets per identity, records and bytes per dataset hold under writes racing on both instances', async () => {
      const [a] = await twoInstances({ limits: { maxDatasetsPerIdentity: 3, maxRecordsPerDataset: 4, maxDatasetBytes: 100 } });
      const { poolId, identityId } = await poolWithIdentity(a!);
      const ref = (DatasetName: string) => ({ IdentityPoolId: poolId, IdentityId: identityId, DatasetName });
      /** One UpdateRecords with a fresh session from the same instance, writing one new record. */
      const write = async (s: TestServer, dataset: string, key: string, value: string) => {
        const { sync } = clients(s);
        const { SyncSessionToken } = await sync.send(new ListRecordsCommand(ref(dataset)));
        return sync.send(new UpdateRecordsCommand({
          ...ref(dataset), SyncSessionToken, RecordPatches: [{ Op: 'replace', Key: key, Value: value, SyncCount: 0 }],
        }));
      };

      // Eight new datasets at once: three get created.
      expect(await outcomes(8, (s, i) => write(s, `ds${i}`, 'k', 'v'))).toEqual({ ok: 3, LimitExceededException: 5 });
      const { Datasets = [] } = await clients(a!).sync.send(new ListDatasetsCommand({ IdentityPoolId: poolId, IdentityId: identityId }));
      const [full, roomy] = Datasets.map((d) => d.DatasetName ?? '');
      // Eight new keys at once in one dataset (1 record): three more fit under 4 records.
      expect(await outcomes(8, (s, i) => write(s, full!, `r${i}`, 'x'))).toEqual({ ok: 3, LimitExceededException: 5 });
      expect((await clients(a!).sync.send(new ListRecordsCommand(ref(full!)))).Records).toHaveLength(4);
      // Eight 40-byte records at once in another (1 record of 2 bytes): two fit in 100 bytes.
      expect(await outcomes(8, (s, i) => write(s, roomy!, `b${i}`, 'y'.repeat(38)))).toEqual({ ok: 2, LimitExceededException: 6 });
    });
  });
});
