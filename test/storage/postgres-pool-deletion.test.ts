import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListRecordsCommand, UpdateRecordsCommand } from '@aws-sdk/client-cognito-sync';
import { CreateIdentityPoolCommand, DeleteIdentityPoolCommand, GetIdCommand } from '@aws-sdk/client-cognito-identity';
import { clients, startServer, type TestServer } from '../helpers/server.js';
import { describeWithPostgres, sharedSchema } from './postgres-support.js';

/**
 * DeleteIdentityPool racing UpdateRecords on two instances of one PostgreSQL database: whatever order they land
 * in, nothing of the pool is left behind (no dataset, record, session marker or lock row of its identities).
 * A write that checked its identity before the deletion and commits after it must not recreate rows.
 */
describeWithPostgres('DeleteIdentityPool racing writes on PostgreSQL', 'test/storage/postgres-pool-deletion.test.ts', () => {
  const schema = sharedSchema('pool_deletion');
  let a: TestServer;
  let b: TestServer;

  beforeAll(async () => {
    const storage = { engine: 'postgres', url: schema.url, poolSize: 8, statementTimeoutMs: 5000, connectTimeoutMs: 5000 } as const;
    a = await startServer({ config: { storage } });
    b = await startServer({ config: { storage } });
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  /**
   * Errors a client may get once its pool is gone; anything else (a 500) fails the test. A write that checked its
   * identity just before the deletion and reads its dataset just after finds it empty: 409, as for any write that
   * lost a race (the next ListRecords then answers that the identity is gone).
   */
  const GONE = new Set(['ResourceNotFoundException', 'NotAuthorizedException', 'InvalidParameterException', 'ResourceConflictException']);

  /** Writes to its own dataset until the pool is gone; answers how many writes were acknowledged. */
  async function writer(server: TestServer, poolId: string, identityId: string): Promise<number> {
    const { sync } = clients(server);
    const ref = { IdentityPoolId: poolId, IdentityId: identityId, DatasetName: 'race' };
    for (let count = 0; ; count++) {
      try {
        const { SyncSessionToken } = await sync.send(new ListRecordsCommand(ref));
        await sync.send(new UpdateRecordsCommand({
          ...ref, SyncSessionToken, RecordPatches: [{ Op: 'replace', Key: `k${count % 3}`, Value: String(count), SyncCount: count < 3 ? 0 : count - 2 }],
        }));
      } catch (error) {
        if (GONE.has((error as Error).name)) return count;
        throw error;
      }
    }
  }

  async function leftovers(poolId: string, identityIds: string[]): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const table of ['identities', 'datasets', 'records', 'consumed_sessions', 'sync_locks', 'devices', 'subscriptions']) {
      const { rows } = await schema.query(`SELECT COUNT(*)::int AS n FROM ${table} WHERE identity_id = ANY($1)`, [identityIds]);
      if (rows[0].n > 0) counts[table] = rows[0].n;
    }
    const { rows } = await schema.query('SELECT COUNT(*)::int AS n FROM datasets WHERE pool_id = $1', [poolId]);
    if (rows[0].n > 0) counts['datasets of the pool'] = rows[0].n;
    return counts;
  }

  describe('DeleteIdentityPool racing writes on PostgreSQL', () => {
    it('leaves no rows of the pool behind, in any of several rounds', async () => {
      for (let round = 0; round < 6; round++) {
        const { identity } = clients(a);
        const { IdentityPoolId: poolId = '' } = await identity.send(new CreateIdentityPoolCommand({
          IdentityPoolName: `doomed_${round}`, AllowUnauthenticatedIdentities: true,
        }));
        const ids = await Promise.all(Array.from({ length: 12 }, async () =>
          (await identity.send(new GetIdCommand({ IdentityPoolId: poolId }))).IdentityId ?? ''));
        const writes = Promise.all(ids.map((id, i) => writer(i % 2 ? a : b, poolId, id)));
        // Let the writers get going, then delete the pool on one instance while they write on both.
        await new Promise((r) => setTimeout(r, 150 + 50 * round));
        await clients(b).identity.send(new DeleteIdentityPoolCommand({ IdentityPoolId: poolId }));
        const acknowledged = await writes;
        expect(acknowledged.reduce((x, y) => x + y, 0)).toBeGreaterThan(0);
        expect(await leftovers(poolId, ids), `round ${round}`).toEqual({});
      }
    });
  });
});
