import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CognitoIdentityClient, CreateIdentityPoolCommand, GetIdCommand } from '@aws-sdk/client-cognito-identity';
import { Database } from '../../src/storage/sqlite/driver.js';
import { TEST_CREDENTIALS } from '../helpers/server.js';
import { createTestSchema, notePgSkipped, PG_SKIP_REASON, PG_URL, type TestSchema } from '../storage/postgres-support.js';
import {
  DatasetWriter, INCONSISTENT_DATASETS_SQL, isConnectionFailure, REGION, seededRandom, sleep, startCosync, syncClient,
  type CosyncProcess,
} from './support.js';

/**
 * Crash safety: writers push UpdateRecords (ListRecords session tokens, several identities and datasets at once)
 * to `cosync serve` in a child process, which is killed with SIGKILL at a random moment, several rounds over, and
 * restarted on the same data. After each restart every acknowledged write must be there with its exact values and
 * sync counts; a write in flight at the kill may be there or not, but whole. At the end the database itself is
 * checked: SQLite's integrity_check, and the stored counts and sizes against the records.
 *
 * The kill moments come from a seed (COSYNC_CRASH_SEED, printed), so a failing run can be replayed.
 */

const SEED = Number(process.env['COSYNC_CRASH_SEED'] ?? 20261127);
const ROUNDS = 8;
const IDENTITIES = 4;
const DATASETS = ['alpha', 'beta'];

if (!PG_URL) notePgSkipped('reliability/crash.test.ts');

interface Engine {
  /** Starts `cosync serve` on this engine's data (the same data every time). */
  readonly start: () => Promise<CosyncProcess>;
  /** Checks the database files/tables directly, with the server stopped. */
  readonly checkStored: () => Promise<void>;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const clean of cleanups.splice(0).reverse()) await clean();
});

/** SQLite in one process, or under `--workers N`: N processes writing one database file, all killed at once. */
function sqliteEngine(workers = 1): Engine {
  const dataDir = mkdtempSync(join(tmpdir(), 'cosync-crash-'));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  return {
    start: () => startCosync({ dataDir, workers }),
    async checkStored() {
      const db = new Database(join(dataDir, 'cosync.sqlite'));
      try {
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
        expect(db.prepare(INCONSISTENT_DATASETS_SQL).all()).toEqual([]);
        expect((db.prepare('SELECT COUNT(*) AS n FROM records').get() as { n: number }).n).toBeGreaterThan(0);
      } finally {
        db.close();
      }
    },
  };
}

async function postgresEngine(): Promise<Engine> {
  const schema: TestSchema = await createTestSchema('crash');
  const dataDir = mkdtempSync(join(tmpdir(), 'cosync-crash-pg-'));
  cleanups.push(() => schema.drop(), () => rmSync(dataDir, { recursive: true, force: true }));
  return {
    start: () => startCosync({ dataDir, databaseUrl: schema.url }),
    async checkStored() {
      expect((await schema.query(INCONSISTENT_DATASETS_SQL)).rows).toEqual([]);
      expect(Number((await schema.query('SELECT COUNT(*) AS n FROM records')).rows[0].n)).toBeGreaterThan(0);
    },
  };
}

async function createWriters(endpoint: string, random: () => number): Promise<DatasetWriter[]> {
  const identity = new CognitoIdentityClient({ endpoint, region: REGION, credentials: TEST_CREDENTIALS, maxAttempts: 1 });
  const { IdentityPoolId } = await identity.send(new CreateIdentityPoolCommand({
    IdentityPoolName: 'crash_pool', AllowUnauthenticatedIdentities: true,
  }));
  const writers: DatasetWriter[] = [];
  for (let i = 0; i < IDENTITIES; i++) {
    const { IdentityId } = await identity.send(new GetIdCommand({ IdentityPoolId }));
    for (const DatasetName of DATASETS) {
      writers.push(new DatasetWriter({ IdentityPoolId: IdentityPoolId!, IdentityId: IdentityId!, DatasetName }, random));
    }
  }
  return writers;
}

/**
 * Every writer pushes in a loop until the server dies under it. A write the server answered with an error, a failed
 * check or a broken connection before the kill fail the test; a write whose connection broke at the kill stays in
 * flight.
 */
function runLoad(endpoint: string, writers: DatasetWriter[]): { stop(): void; done: Promise<unknown[]> } {
  const sync = syncClient(endpoint);
  let stopped = false;
  const loops = writers.map(async (w) => {
    while (!stopped) {
      try {
        await w.push(sync);
      } catch (error) {
        if (!stopped || !isConnectionFailure(error)) return error;
      }
    }
    return undefined;
  });
  return {
    stop: () => { stopped = true; },
    done: Promise.all(loops).finally(() => sync.destroy()),
  };
}

describe.each([
  ['sqlite', sqliteEngine] as const,
  ['sqlite, 2 workers', () => sqliteEngine(2)] as const,
  ['postgres', PG_URL ? postgresEngine : undefined] as const,
])('crash safety on %s', (engineName, makeEngine) => {
  it.skipIf(!makeEngine)(`every acknowledged write survives SIGKILL and restart${makeEngine ? '' : ` (SKIPPED: ${PG_SKIP_REASON})`}`, async () => {
    const engine = await makeEngine!();
    const random = seededRandom(SEED);
    let server = await engine.start();
    const writers = await createWriters(server.endpoint, random);
    const tally = { acks: 0, inFlightAtKill: 0, applied: 0, absent: 0 };
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const load = runLoad(server.endpoint, writers);
        await sleep(150 + Math.floor(random() * 900));
        load.stop();
        await server.kill();
        expect((await load.done).filter((e) => e !== undefined)).toEqual([]);
        tally.inFlightAtKill += writers.filter((w) => w.inFlight).length;

        server = await engine.start();
        const sync = syncClient(server.endpoint);
        for (const w of writers) {
          const outcome = await w.verify(sync);
          if (outcome !== 'none') tally[outcome]++;
        }
        sync.destroy();
      }
    } finally {
      await server.kill();
    }
    tally.acks = writers.reduce((n, w) => n + w.acks, 0);
    console.info(`[crash ${engineName}] seed ${SEED}: ${ROUNDS} kills, ${tally.acks} acknowledged writes all present; `
      + `${tally.inFlightAtKill} in flight at a kill (${tally.applied} applied whole, ${tally.absent} absent)`);
    expect(tally.acks).toBeGreaterThan(ROUNDS * 5);
    expect(tally.inFlightAtKill).toBeGreaterThan(0);
    await engine.checkStored();
  }, 120_000);
});
