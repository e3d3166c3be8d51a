import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CognitoSyncClient, DeleteDatasetCommand, ListRecordsCommand, UpdateRecordsCommand, type ListRecordsCommandOutput,
  type UpdateRecordsCommandOutput,
} from '@aws-sdk/client-cognito-sync';
import { CognitoIdentityClient, CreateIdentityPoolCommand, GetIdCommand } from '@aws-sdk/client-cognito-identity';
import { TEST_CREDENTIALS } from '../helpers/server.js';
import { describeWithPostgres, createTestSchema, type TestSchema } from './postgres-support.js';
import { startServeProcess, type ServerProcess } from './postgres-processes.js';
import { seededRandom } from '../helpers/processes.js';
import { checkDataset, type DatasetHistory, type FinalState, type Patch, type RecordVersion } from './postgres-checker-history.js';

/**
 * A randomized history checker: three `cosync serve` processes on one PostgreSQL schema, many clients of the AWS
 * SDK for JavaScript v3 sending each call to a random instance — reads, writes and removes (some with stale
 * SyncCounts), DeleteDatasets, and rounds of writers racing on one record through different instances. Every call
 * and its answer is recorded; postgres-checker-history.ts then proves the history is one a single serial store
 * could have produced (sync counts 1..N without repeat or gap, each write's expectations met in count order,
 * reads consistent, final state = replay of the acknowledged writes).
 *
 * COSYNC_CHECKER_SEED replays a run's random choices (the interleaving is the machine's); COSYNC_CHECKER_MS sets
 * how long the clients run (default 15 s).
 */
const SEED = Number(process.env['COSYNC_CHECKER_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const RUN_MS = Number(process.env['COSYNC_CHECKER_MS'] ?? 15_000);
const INSTANCES = 3;
const RANDOM_WORKERS = 10;
const RACE_WORKERS = 2;
const KEYS = ['k0', 'k1', 'k2', 'k3', 'k4'];

interface Target { readonly id: string; readonly ref: { IdentityPoolId: string; IdentityId: string; DatasetName: string } }

describeWithPostgres('randomized checker, three processes on one PostgreSQL database', 'test/storage/postgres-checker.test.ts', () => {
  let schema: TestSchema;
  let servers: ServerProcess[] = [];

  beforeAll(async () => {
    schema = await createTestSchema('checker');
    servers = await Promise.all(Array.from({ length: INSTANCES }, () => startServeProcess({ databaseUrl: schema.url })));
  }, 60_000);
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await schema?.drop();
  }, 30_000);

  describe('randomized checker, three processes on one PostgreSQL database', () => {
    it('keeps every acknowledged write, in one order, whichever instance answers', async () => {
      const region = 'us-east-1';
      const sync = servers.map((s) => new CognitoSyncClient({ endpoint: s.endpoint, region, credentials: TEST_CREDENTIALS, maxAttempts: 1 }));
      const identity = new CognitoIdentityClient({ endpoint: servers[0]!.endpoint, region, credentials: TEST_CREDENTIALS });
      const { IdentityPoolId = '' } = await identity.send(new CreateIdentityPoolCommand({
        IdentityPoolName: 'checker', AllowUnauthenticatedIdentities: true,
      }));
      const ids = await Promise.all([0, 1, 2].map(async () =>
        (await identity.send(new GetIdCommand({ IdentityPoolId }))).IdentityId ?? ''));
      const target = (identityId: string, name: string): Target =>
        ({ id: `${identityId}/${name}`, ref: { IdentityPoolId, IdentityId: identityId, DatasetName: name } });
      const shared = ids.slice(0, 2).flatMap((i) => ['shared_a', 'shared_b', 'shared_c'].map((n) => target(i, n)));
      const raced = Array.from({ length: RACE_WORKERS }, (_, w) => target(ids[2]!, `race_${w}`));

      let clock = 0;
      const tick = () => ++clock;
      const histories = new Map<string, DatasetHistory>([...shared, ...raced].map((t) => [t.id, { acks: [], deletions: [], reads: [] }]));
      const violations: string[] = [];
      const tally = { reads: 0, acks: 0, conflicts: 0, deletions: 0, notFound: 0, raceRounds: 0 };
      const deadline = Date.now() + RUN_MS;
      const fail = (what: string) => violations.push(`${what} (seed ${SEED})`);

      async function read(t: Target, instance: number): Promise<ListRecordsCommandOutput> {
        const start = tick();
        const out = await sync[instance]!.send(new ListRecordsCommand({ ...t.ref, LastSyncCount: 0 }));
        histories.get(t.id)!.reads.push({
          start, end: tick(), exists: out.DatasetExists ?? false, syncCount: out.DatasetSyncCount ?? 0, records: versions(out),
        });
        tally.reads++;
        return out;
      }

      /** Sends one UpdateRecords; records an ack, or counts a conflict. Any other answer fails the run. */
      async function write(t: Target, instance: number, token: string | undefined, patches: Patch[]): Promise<boolean> {
        const start = tick();
        try {
          const out = await sync[instance]!.send(new UpdateRecordsCommand({
            ...t.ref, SyncSessionToken: token,
            RecordPatches: patches.map((p) => ({ Op: p.op, Key: p.key, Value: p.op === 'replace' ? p.value : undefined, SyncCount: p.expected })),
          }));
          const end = tick();
          const syncCount = checkAck(t, patches, out);
          histories.get(t.id)!.acks.push({ start, end, syncCount, patches });
          tally.acks++;
          return true;
        } catch (error) {
          tick();
          if ((error as Error).name !== 'ResourceConflictException') throw error;
          tally.conflicts++;
          return false;
        }
      }

      /** The answer lists the patched records, all at one new count; returns it. */
      function checkAck(t: Target, patches: Patch[], out: UpdateRecordsCommandOutput): number {
        const got = (out.Records ?? []).map((r) => [r.Key, r.Value ?? null]);
        const want = patches.map((p) => [p.key, p.op === 'remove' ? null : p.value]);
        const counts = new Set((out.Records ?? []).map((r) => r.SyncCount));
        if (JSON.stringify(got) !== JSON.stringify(want) || counts.size !== 1) {
          fail(`${t.id}: UpdateRecords answered ${JSON.stringify(out.Records)} for ${JSON.stringify(patches)}`);
        }
        return out.Records?.[0]?.SyncCount ?? -1;
      }

      async function randomWorker(w: number): Promise<void> {
        const rng = seededRandom(SEED + w);
        const int = (n: number) => Math.floor(rng() * n);
        for (let i = 0; Date.now() < deadline; i++) {
          // Skewed towards the first dataset, so writers meet there often.
          const t = rng() < 0.4 ? shared[0]! : shared[int(shared.length)]!;
          const roll = rng();
          if (roll < 0.25) {
            await read(t, int(INSTANCES));
          } else if (roll < 0.9) {
            const listed = await read(t, int(INSTANCES));
            const seen = new Map((listed.Records ?? []).map((r) => [r.Key ?? '', r.SyncCount ?? 0]));
            const keys = [...KEYS].sort(() => rng() - 0.5).slice(0, 1 + int(3));
            const patches = keys.map((key): Patch => {
              let expected = seen.get(key) ?? 0;
              // Now and then a stale or future count, which must be refused.
              if (rng() < 0.1) expected = expected > 0 && rng() < 0.5 ? expected - 1 : expected + 1;
              return { op: rng() < 0.25 ? 'remove' : 'replace', key, value: `w${w}.${i}`, expected };
            });
            await write(t, int(INSTANCES), listed.SyncSessionToken, patches);
          } else {
            const start = tick();
            try {
              await sync[int(INSTANCES)]!.send(new DeleteDatasetCommand(t.ref));
              histories.get(t.id)!.deletions.push({ start, end: tick() });
              tally.deletions++;
            } catch (error) {
              tick();
              if ((error as Error).name !== 'ResourceNotFoundException') throw error;
              tally.notFound++;
            }
          }
        }
      }

      /** Rounds of three writers, one per instance, with the same expected count on one record: one must win. */
      async function raceWorker(w: number): Promise<void> {
        const rng = seededRandom(SEED + 1000 + w);
        const t = raced[w]!;
        for (let round = 0; Date.now() < deadline; round++) {
          const listed = await Promise.all(sync.map((_, i) => read(t, i)));
          const seen = listed.map((l) => l.Records?.find((r) => r.Key === 'hot')?.SyncCount ?? 0);
          if (new Set(seen).size !== 1) fail(`${t.id}: three reads of a quiet dataset disagree: ${seen.join(', ')}`);
          const seenOf = (key: string) => listed[0]!.Records?.find((r) => r.Key === key)?.SyncCount ?? 0;
          const won = await Promise.all(listed.map((l, i) => write(t, i, l.SyncSessionToken, [
            { op: 'replace', key: 'hot', value: `r${w}.${round}.${i}`, expected: seen[i]! },
            // Writers also touch a record of their own, as a real sync would; that does not change who wins.
            ...(i > 0 && rng() < 0.5 ? [{ op: 'replace' as const, key: `x${i}`, value: String(round), expected: seenOf(`x${i}`) }] : []),
          ])));
          if (won.filter(Boolean).length !== 1) fail(`${t.id}: round ${round}: ${won.filter(Boolean).length} of 3 racing writers won`);
          tally.raceRounds++;
        }
      }

      await Promise.all([
        ...Array.from({ length: RANDOM_WORKERS }, (_, w) => randomWorker(w)),
        ...Array.from({ length: RACE_WORKERS }, (_, w) => raceWorker(w)),
      ]).catch((error: unknown) => {
        throw new Error(`a call failed unexpectedly (seed ${SEED}): ${String(error)}`);
      });

      // Quiet now: every instance must report the same final state, and the checker must explain it.
      for (const t of [...shared, ...raced]) {
        const finals = await Promise.all(sync.map(async (client): Promise<FinalState> => {
          const out = await client.send(new ListRecordsCommand({ ...t.ref, LastSyncCount: 0 }));
          return { exists: out.DatasetExists ?? false, syncCount: out.DatasetSyncCount ?? 0, records: versions(out) };
        }));
        if (new Set(finals.map((f) => JSON.stringify(f))).size !== 1) fail(`${t.id}: instances disagree on the final state`);
        violations.push(...checkDataset(t.id, histories.get(t.id)!, finals[0]!).map((v) => `${v} (seed ${SEED})`));
      }
      console.log(`[postgres-checker] seed ${SEED}: ${JSON.stringify(tally)}`);
      expect(violations, `seed ${SEED}`).toEqual([]);
      // The run must have exercised what it checks.
      expect(tally.acks).toBeGreaterThan(100);
      expect(tally.conflicts).toBeGreaterThan(10);
      expect(tally.deletions).toBeGreaterThan(5);
      expect(tally.raceRounds).toBeGreaterThan(10);
    }, 120_000);
  });
});

function versions(out: ListRecordsCommandOutput): RecordVersion[] {
  return (out.Records ?? []).map((r) => ({ key: r.Key ?? '', value: r.Value ?? null, syncCount: r.SyncCount ?? 0 }));
}
