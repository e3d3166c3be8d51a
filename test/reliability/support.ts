/**
 * What the reliability tests share: `cosync serve` as a child process that can be killed, a seeded random source,
 * and a model of one dataset that a writer keeps while it pushes UpdateRecords, so that after a crash or a fault
 * the stored dataset can be compared with what was acknowledged.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  CognitoSyncClient, DescribeDatasetCommand, ListRecordsCommand, UpdateRecordsCommand, type RecordPatch,
} from '@aws-sdk/client-cognito-sync';
import { expect } from 'vitest';
import { TEST_CREDENTIALS } from '../helpers/server.js';
import { COSYNC_BIN, seededRandom, serveEnvironment } from '../helpers/processes.js';

export const REGION = 'us-east-1';

export interface CosyncProcess {
  readonly endpoint: string;
  readonly child: ChildProcess;
  /** SIGKILL: the process gets no chance to finish anything. Resolves once it is gone. */
  kill(): Promise<void>;
}

/**
 * Starts `cosync serve` (the built dist/, as a user runs it) on port 0 with the test developer credentials, fixed
 * server keys and throttling off. `databaseUrl` selects PostgreSQL; otherwise SQLite in `dataDir` (synchronous FULL,
 * the default). `workers` > 1 runs `--workers N`. The log is drained (a full pipe would stall the server) and its tail kept for error messages.
 */
export async function startCosync(options: { dataDir: string; databaseUrl?: string; workers?: number }): Promise<CosyncProcess> {
  const env = serveEnvironment(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {});
  const workers = options.workers ?? 1;
  const child = spawn(process.execPath, [
    COSYNC_BIN, 'serve', '--port', '0', '--data', options.dataDir, '--log-level', 'info', '--workers', String(workers),
  ], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    // With workers, the server is a process group of its own, so that kill() takes down every process at once.
    detached: workers > 1,
  });
  let log = '';
  const keep = (d: Buffer) => { log = (log + d.toString()).slice(-20_000); };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const endpoint = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(log);
      if (m) {
        clearInterval(timer);
        resolve(m[1]!);
      } else if (child.exitCode !== null || child.signalCode !== null) {
        clearInterval(timer);
        reject(new Error(`cosync serve exited before listening:\n${log}`));
      }
    }, 20);
  });
  return {
    endpoint,
    child,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) {
        if (workers > 1) process.kill(-child.pid!, 'SIGKILL');
        else child.kill('SIGKILL');
      }
      await exited;
    },
  };
}

/** v3 Cognito Sync client with the developer credentials and no retries (each call is one attempt). */
export function syncClient(endpoint: string): CognitoSyncClient {
  return new CognitoSyncClient({ endpoint, region: REGION, credentials: TEST_CREDENTIALS, maxAttempts: 1 });
}

export { seededRandom };

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The HTTP status of an SDK error: the server answered. */
export function httpStatusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

/** An SDK call that got no answer (connection refused or reset): its outcome is unknown. Not a failed check. */
export function isConnectionFailure(error: unknown): boolean {
  const metadata = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata;
  return metadata !== undefined && metadata.httpStatusCode === undefined;
}

export interface DatasetRef { readonly IdentityPoolId: string; readonly IdentityId: string; readonly DatasetName: string }

/** One record as stored: value null is a tombstone. */
export interface RecordState { readonly value: string | null; readonly syncCount: number }

/** Records by key, sorted, as a plain object (what the assertions compare). */
type Snapshot = Record<string, RecordState>;

const KEYS = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5'];
// Multi-byte characters, so sizes are checked in UTF-8 bytes rather than characters.
const ALPHABET = 'abcdefghijé✓';

/**
 * One writer of one dataset, as a Sync Manager would be: ListRecords for a session token, then UpdateRecords with
 * the sync counts it last saw. `acknowledged` is the dataset as of the last answered UpdateRecords; `inFlight` is
 * the write sent but not answered (the server died or the request failed), whose outcome is unknown until the
 * dataset is read back: all of it or none of it.
 */
export class DatasetWriter {
  acknowledged: Snapshot = {};
  syncCount = 0;
  inFlight: Snapshot | undefined;
  acks = 0;
  private seq = 0;

  constructor(readonly ref: DatasetRef, private readonly random: () => number) {}

  /** Builds the next write: 1-3 keys, replaced with a fresh value or (when live) sometimes removed. */
  private nextPatches(): { patches: RecordPatch[]; after: Snapshot } {
    const keys = KEYS.filter(() => this.random() < 0.4).slice(0, 3);
    if (keys.length === 0) keys.push(KEYS[Math.floor(this.random() * KEYS.length)]!);
    const next = this.syncCount + 1;
    const patches: RecordPatch[] = [];
    const after: Snapshot = {};
    for (const key of keys) {
      const current = this.acknowledged[key];
      const SyncCount = current?.syncCount ?? 0;
      if (current?.value != null && this.random() < 0.2) {
        patches.push({ Op: 'remove', Key: key, SyncCount });
        after[key] = { value: null, syncCount: next };
      } else {
        const length = 1 + Math.floor(this.random() * 40);
        const body = Array.from({ length }, () => ALPHABET[Math.floor(this.random() * ALPHABET.length)]).join('');
        const value = `${this.ref.IdentityId.slice(-4)}/${this.ref.DatasetName}/${++this.seq}/${body}`;
        patches.push({ Op: 'replace', Key: key, Value: value, SyncCount });
        after[key] = { value, syncCount: next };
      }
    }
    return { patches, after };
  }

  /**
   * One push. Resolves when it was acknowledged (and checks the answer); rejects with the SDK's error otherwise,
   * leaving the write in `inFlight`.
   */
  async push(sync: CognitoSyncClient): Promise<void> {
    const listed = await sync.send(new ListRecordsCommand({ ...this.ref, LastSyncCount: this.syncCount }));
    const { patches, after } = this.nextPatches();
    this.inFlight = after;
    const out = await sync.send(new UpdateRecordsCommand({
      ...this.ref, SyncSessionToken: listed.SyncSessionToken, RecordPatches: patches,
    }));
    const answered: Snapshot = {};
    for (const r of out.Records ?? []) answered[r.Key!] = { value: r.Value ?? null, syncCount: r.SyncCount! };
    expect(answered).toEqual(after);
    this.adopt(after);
    this.acks++;
  }

  private adopt(after: Snapshot): void {
    this.acknowledged = { ...this.acknowledged, ...after };
    this.syncCount++;
    this.inFlight = undefined;
  }

  /**
   * Reads the dataset back and checks it is exactly what was acknowledged, or that plus the whole in-flight write;
   * adopts what it finds. Returns whether the in-flight write (if any) was applied.
   */
  async verify(sync: CognitoSyncClient): Promise<'none' | 'applied' | 'absent'> {
    const stored = await readDataset(sync, this.ref);
    const pending = this.inFlight;
    const without = { syncCount: this.syncCount, records: sorted(this.acknowledged) };
    const withPending = pending && { syncCount: this.syncCount + 1, records: sorted({ ...this.acknowledged, ...pending }) };
    const found = { syncCount: stored.syncCount, records: stored.records };
    if (withPending && equal(found, withPending)) {
      this.adopt(pending!);
      return 'applied';
    }
    // Not the in-flight write: it must be the acknowledged state exactly (a partial write fails here too).
    expect(found, `${this.ref.IdentityId}/${this.ref.DatasetName}: stored dataset vs acknowledged writes`).toEqual(without);
    this.inFlight = undefined;
    return pending ? 'absent' : 'none';
  }
}

function sorted(s: Snapshot): Snapshot {
  return Object.fromEntries(Object.entries(s).sort(([a], [b]) => a.localeCompare(b)));
}
const equal = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * The whole dataset through the API (every record, tombstones included), after checking that DescribeDataset's
 * figures agree with the listed records: NumRecords counts live records, DataStorage their UTF-8 key+value bytes.
 */
export async function readDataset(sync: CognitoSyncClient, ref: DatasetRef): Promise<{ syncCount: number; records: Snapshot }> {
  const records: Snapshot = {};
  let NextToken: string | undefined;
  let syncCount = 0;
  do {
    const page = await sync.send(new ListRecordsCommand({ ...ref, ...(NextToken ? { NextToken } : {}) }));
    syncCount = page.DatasetSyncCount ?? 0;
    for (const r of page.Records ?? []) records[r.Key!] = { value: r.Value ?? null, syncCount: r.SyncCount! };
    NextToken = page.NextToken;
  } while (NextToken);
  const live = Object.entries(records).filter(([, r]) => r.value !== null);
  if (syncCount > 0) {
    const { Dataset } = await sync.send(new DescribeDatasetCommand(ref));
    expect({ numRecords: Dataset?.NumRecords, dataStorage: Dataset?.DataStorage }, `${ref.IdentityId}/${ref.DatasetName} usage`)
      .toEqual({
        numRecords: live.length,
        dataStorage: live.reduce((n, [k, r]) => n + Buffer.byteLength(k) + Buffer.byteLength(r.value!), 0),
      });
  }
  return { syncCount, records: sorted(records) };
}

/**
 * SQL that lists every dataset whose stored figures disagree with its records (count and bytes of live records,
 * highest record sync count), and every record whose dataset row is missing. Empty when consistent. The same text
 * runs on SQLite and PostgreSQL.
 */
export const INCONSISTENT_DATASETS_SQL = `
  SELECT d.identity_id, d.name, d.num_records, d.data_storage, d.sync_count, r.n, r.bytes, r.top
  FROM datasets d LEFT JOIN (
    SELECT identity_id, dataset_name,
      SUM(CASE WHEN value IS NULL THEN 0 ELSE 1 END) AS n,
      SUM(CASE WHEN value IS NULL THEN 0 ELSE OCTET_LENGTH(key) + OCTET_LENGTH(value) END) AS bytes,
      MAX(sync_count) AS top
    FROM records GROUP BY identity_id, dataset_name
  ) r ON r.identity_id = d.identity_id AND r.dataset_name = d.name
  WHERE d.num_records <> COALESCE(r.n, 0) OR d.data_storage <> COALESCE(r.bytes, 0) OR d.sync_count < COALESCE(r.top, 0)
  UNION ALL
  SELECT r.identity_id, r.dataset_name, NULL, NULL, NULL, NULL, NULL, NULL FROM records r
  WHERE NOT EXISTS (SELECT 1 FROM datasets d WHERE d.identity_id = r.identity_id AND d.name = r.dataset_name)`;
