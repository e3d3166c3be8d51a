import { Database } from './driver.js';
import type { SyncStore } from '../store.js';
import type {
  CurrentRecord, DatasetRow, DatasetView, DatasetWriteState, Device, Identity, IdentityPool, PoolSyncSettings, PoolUsage,
  RecordRow, WriteCommand, WritePlan,
} from '../types.js';
import { migrate } from './migrations.js';
import { prepareIdentityLinks } from './identity-links.js';

export interface SqliteStoreOptions {
  /** A file path, or ':memory:' for a private in-memory database (tests). */
  readonly file: string;
  /** FULL (default): an acknowledged write survives power loss. NORMAL: may lose the last commits, never corrupts. */
  readonly synchronous?: 'FULL' | 'NORMAL' | undefined;
  /**
   * True: the file stays locked for this connection alone until it closes (SQLite's EXCLUSIVE locking mode), so
   * no other process can read or write it meanwhile. Each statement then skips taking and releasing SQLite's file
   * locks (fcntl system calls), which measured about a tenth of a ListRecords request's CPU (bench/README.md).
   * False (the default): several connections or processes may share the file, as `--workers` needs.
   */
  readonly exclusive?: boolean | undefined;
}

/** Most writeRecords commands committed in one transaction; the rest of the queue follows in the next. */
const MAX_BATCH = 256;
/** How long a write waits for another process's write lock before it fails. */
const BUSY_TIMEOUT_MS = 5000;
/**
 * How long a batch that found the write lock taken tries again on every turn of the event loop before it falls back
 * to trying every millisecond. A sibling worker's commit holds the lock about a millisecond; a timer would let the
 * lock sit free for most of the next one, while a longer holder (a big import) should not cost a spinning core.
 */
const LOCK_SPIN_MS = 10;

/**
 * Opens the database with the engine's pragmas and migrates it. Exported for tests that inspect the pragmas.
 * Throws (and closes the handle) when migration fails, e.g. SchemaTooNewError.
 */
export function openSqliteDatabase(options: SqliteStoreOptions): Database {
  const db = new Database(options.file);
  try {
    // Before WAL is entered: in exclusive mode SQLite then keeps the WAL index in this process's memory rather
    // than in a shared-memory file, and locks the database file when it first opens the WAL (just below).
    if (options.exclusive && options.file !== ':memory:') db.pragma('locking_mode = EXCLUSIVE');
    // WAL: readers never block the writer, and a commit is one sequential append (+ one fsync under FULL).
    if (options.file !== ':memory:') db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL'}`);
    // Another process holding the write lock is waited for rather than failing at once.
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    migrate(db);
    return db;
  } catch (error) {
    db.close();
    if ((error as { code?: unknown }).code !== 'SQLITE_BUSY') throw error;
    // Only another process's exclusive hold fails before busy_timeout is set: say what to do about it.
    throw new Error(
      `The SQLite database ${options.file} is in use by another process (another cosync serve on the same data ` +
        'folder?). One process owns the file by default: stop the other one, or run several with --workers N, ' +
        'or give every process --sqlite-locking shared.',
      { cause: error },
    );
  }
}

/** The SQLite SyncStore. Methods run synchronously inside (better-sqlite3) and return settled promises. */
export function openSqliteStore(options: SqliteStoreOptions): SyncStore {
  const db = openSqliteDatabase(options);
  const s = prepareStatements(db);
  const groupCommit = createGroupCommit(db, s);
  const links = prepareIdentityLinks(db, () => groupCommit.flush());
  // After close(), better-sqlite3 itself rejects every call ("database connection is not open"); only
  // writeRecords needs its own check, since a queued command would otherwise never settle.
  let closing: Promise<void> | undefined;
  // IMMEDIATE transactions for read-modify-write: take the write lock before reading, so another process
  // cannot commit in between (a deferred transaction would fail to upgrade its stale snapshot instead).
  const upsertSettings = db.transaction((poolId: string, update: (current: PoolSyncSettings) => PoolSyncSettings) => {
    const doc = JSON.stringify(update(readSettings(s, poolId)));
    s.putSettings.run(poolId, doc);
    return JSON.parse(doc) as PoolSyncSettings;
  });
  const removeDataset = db.transaction((identityId: string, name: string, now: number) => {
    const row = s.getDataset.get(identityId, name);
    if (!row || row.deleted) return undefined;
    s.markDatasetDeleted.run(now, identityId, name);
    s.deleteDatasetRecords.run(identityId, name);
    s.deleteDatasetSubscriptions.run(identityId, name);
    return toDataset(row);
  });
  const removePool = db.transaction((poolId: string) => {
    for (const stmt of s.deletePoolData) stmt.run({ pool: poolId });
    links.deletePoolLogins(poolId);
    return s.deletePool.run(poolId).changes > 0;
  });

  return {
    engine: 'sqlite',
    async getOrCreateSecret(name, generate) {
      const existing = s.getSecret.get(name);
      if (existing) return existing.value;
      // INSERT OR IGNORE then SELECT: when two instances race, both read the value of the first insert.
      s.insertSecret.run(name, generate());
      return s.getSecret.get(name)!.value;
    },

    async createIdentityPool(p) {
      s.insertPool.run(p.identityPoolId, p.identityPoolName, p.createdAt, poolDoc(p));
    },
    getIdentityPool: async (id) => map(s.getPool.get(id), toPool),
    listIdentityPools: async (page) => s.listPools.all(page.after ?? '', page.limit).map(toPool),
    updateIdentityPool: async (p) => s.updatePool.run(p.identityPoolName, poolDoc(p), p.identityPoolId).changes > 0,
    deleteIdentityPool: async (id) => removePool.immediate(id),
    countIdentityPools: async () => s.countPools.get()!.n,

    async createIdentity(i) {
      s.insertIdentity.run(i.identityId, i.identityPoolId, i.createdAt, i.lastModifiedAt, i.disabled ? 1 : 0);
    },
    getIdentity: async (id) => map(s.identityRow.get(id), (r) => identityAt(r, 0)),
    listIdentities: async (poolId, page) => s.listIdentities.all(poolId, page.after ?? '', page.limit).map(toIdentity),
    ...links.methods,

    getPoolSyncSettings: async (poolId) => readSettings(s, poolId),
    updatePoolSyncSettings: async (poolId, update) => upsertSettings.immediate(poolId, update),

    getDataset: async (identityId, name) => map(s.getDataset.get(identityId, name), toDataset),
    listDatasets: async (identityId, page) => s.listDatasets.all(identityId, page.after ?? '', page.limit).map(toDataset),
    listMergedDatasetNames: async (identityId, name) => s.listMergedNames.all(identityId, name).map((r) => r.name),
    getDatasetView: async (identityId, name) => toDatasetView(s.datasetView.get(identityId, name, identityId, identityId, name)!),
    async listRecords(identityId, name, range, page) {
      // Without `after`, (since, '') is below every row the range admits (sync_count > since). The lower bound
      // `from` lets the index scan start at the page's position rather than at the start of the range.
      const after = page.after ?? { syncCount: range.sinceSyncCount, key: '' };
      const from = Math.max(range.sinceSyncCount + 1, after.syncCount);
      return s.listRecords
        .all(identityId, name, from, range.upToSyncCount, after.syncCount, after.key, page.limit)
        .map(recordOf);
    },
    writeRecords<T extends WritePlan>(command: WriteCommand, plan: (state: DatasetWriteState) => T): Promise<T> {
      if (closing) return Promise.reject(new Error('the store is closed'));
      return groupCommit.enqueue(command, plan);
    },
    deleteDataset: async (identityId, name, now) => removeDataset.immediate(identityId, name, now),
    isSessionConsumed: async (_identityId, session) => s.sessionConsumed.get(session.expiresAt, session.sessionId) !== undefined,
    pruneConsumedSessions: async (now) => s.pruneSessions.run(now).changes,

    async getIdentityUsage(identityId) {
      const row = s.identityUsage.get(identityId)!;
      return { datasetCount: row.live, dataStorage: row.storage, lastModifiedAt: row.modified };
    },
    getPoolUsage: async (poolIds) => poolIds.map((poolId): PoolUsage => {
      const row = s.poolUsage.get(poolId)!;
      return { identityPoolId: poolId, dataStorage: row.storage, syncSessionsCount: row.sessions, lastModifiedAt: row.modified };
    }),

    async registerDevice(d) {
      // The UNIQUE (identity, platform, token) makes registration idempotent, across instances too.
      s.insertDevice.run(d.deviceId, d.identityId, d.platform, d.token, d.createdAt);
      return toDevice(s.findDevice.get(d.identityId, d.platform, d.token)!);
    },
    async getDevice(identityId, deviceId) {
      const row = s.getDevice.get(deviceId);
      return row?.identity_id === identityId ? toDevice(row) : undefined;
    },
    async subscribe(identityId, name, deviceId, now) {
      s.subscribe.run(identityId, name, deviceId, now);
    },
    unsubscribe: async (identityId, name, deviceId) => s.unsubscribe.run(identityId, name, deviceId).changes > 0,
    listSubscribedDevices: async (identityId, name) => s.subscribedDevices.all(identityId, name).map(toDevice),

    close() {
      closing ??= (async () => {
        groupCommit.flush();
        db.close();
      })();
      return closing;
    },
  };
}

// --- group commit ------------------------------------------------------------------------------------------

interface PendingWrite {
  readonly command: WriteCommand;
  readonly plan: (state: DatasetWriteState) => WritePlan;
  readonly resolve: (result: WritePlan) => void;
  readonly reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: WritePlan } | { ok: false; error: unknown };

/**
 * Queues writeRecords commands and commits them in batches: ONE write transaction (one fsync) per batch. Commands
 * run in arrival order, so a command sees the effects of every earlier one, committed or in the same batch.
 * Promises settle only after COMMIT: nothing is acknowledged before it is durable.
 *
 * A throwing plan (a conflict, a limit) fails only its own command, and writes nothing since it throws before its
 * command writes. Should the database fail one command's writes, the batch goes back to its start and runs again
 * with each command in a savepoint of its own, so that failure undoes that command only. Savepoints cost two
 * statements per command, which is why the common case goes without them.
 */
function createGroupCommit(db: Database, s: Statements) {
  let queue: PendingWrite[] = [];
  let scheduled = false;
  /** When the queued batch first found another process holding the write lock. */
  let lockWaitSince: number | undefined;

  /** Commits the queue now, waiting (blocking) for the write lock: for close() and the identity links. */
  function flush(): void {
    lockWaitSince = undefined;
    while (queue.length > 0) commitQueue(() => s.begin.run());
  }

  /**
   * The scheduled commit. When another process (a `--workers` sibling, or any other SQLite client) holds the
   * write lock, SQLite's busy handler would sleep on this thread and stall every request of this process; instead
   * the batch stays queued, keeps growing, and the lock is tried again (each turn of the event loop for LOCK_SPIN_MS,
   * then every millisecond), up to BUSY_TIMEOUT_MS.
   */
  function flushWhenLockFree(): void {
    scheduled = false;
    if (queue.length === 0) {
      lockWaitSince = undefined; // a blocking flush() took the queue meanwhile
      return;
    }
    const began = tryBeginWithoutWaiting();
    if (!began) {
      const now = performance.now();
      lockWaitSince ??= now;
      const waited = now - lockWaitSince;
      if (waited < BUSY_TIMEOUT_MS) {
        scheduled = true;
        if (waited < LOCK_SPIN_MS) setImmediate(flushWhenLockFree);
        else setTimeout(flushWhenLockFree, 1);
        return;
      }
    }
    lockWaitSince = undefined;
    commitQueue(() => {
      if (!began) throw new Error(`database is locked: no write lock within ${BUSY_TIMEOUT_MS} ms`);
    });
  }

  function tryBeginWithoutWaiting(): boolean {
    // Compiled on every call, as it must be: SQLite applies busy_timeout while compiling. db.exec rather than
    // db.pragma, which also builds a Statement object each time and costs about five times as much.
    db.exec('PRAGMA busy_timeout = 0');
    try {
      s.begin.run();
      return true;
    } catch (error) {
      if ((error as { code?: unknown }).code === 'SQLITE_BUSY') return false;
      throw error;
    } finally {
      db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    }
  }

  function commitQueue(begin: () => void): void {
    const batch = queue.splice(0, MAX_BATCH);
    if (queue.length > 0 && !scheduled) {
      scheduled = true;
      setImmediate(flushWhenLockFree);
    }
    let outcomes: Outcome[];
    try {
      begin();
      outcomes = runBatch(batch);
      s.commit.run();
    } catch (error) {
      // Outside a savepoint (BEGIN, COMMIT, a failed ROLLBACK TO): the whole batch is lost; reject all of it.
      if (db.inTransaction) s.rollback.run();
      for (const w of batch) w.reject(error);
      return;
    }
    batch.forEach((w, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) w.resolve(outcome.value);
      else w.reject(outcome.error);
    });
  }

  function runBatch(batch: readonly PendingWrite[]): Outcome[] {
    s.savepointBatch.run();
    try {
      return batch.map(runCommand);
    } catch (error) {
      // Out of a command's reads or writes, not its plan. If SQLite rolled the transaction back by itself (e.g.
      // disk full), nothing can be kept: the caller fails the whole batch.
      if (!db.inTransaction) throw error;
      s.rollbackToBatch.run();
      return batch.map(runInSavepoint);
    }
  }

  /** Reads the command's state, plans, writes; a throwing plan is its outcome, any other failure is thrown. */
  function runCommand(w: PendingWrite): Outcome {
    const state = readWriteState(s, w.command);
    let plan: WritePlan;
    try {
      plan = w.plan(state);
    } catch (error) {
      return { ok: false, error };
    }
    applyPlan(s, w.command, plan);
    s.consumeSession.run(w.command.sessionExpiresAt, w.command.sessionId);
    return { ok: true, value: plan };
  }

  function runInSavepoint(w: PendingWrite): Outcome {
    s.savepoint.run();
    try {
      const outcome = runCommand(w);
      s.release.run();
      return outcome;
    } catch (error) {
      // If SQLite already rolled the whole transaction back (e.g. disk full), ROLLBACK TO throws: the outer
      // handler then fails the batch, which is right since earlier commands' writes are gone too.
      if (!db.inTransaction) throw error;
      s.rollbackTo.run();
      s.release.run();
      return { ok: false, error };
    }
  }

  return {
    flush,
    enqueue<T extends WritePlan>(command: WriteCommand, plan: (state: DatasetWriteState) => T): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ command, plan, resolve: (r) => resolve(r as T), reject });
        if (!scheduled) {
          scheduled = true;
          // After the current I/O phase: every request parsed in it joins this batch.
          setImmediate(flushWhenLockFree);
        }
      });
    },
  };
}

function readWriteState(s: Statements, c: WriteCommand): DatasetWriteState {
  const row = s.writeState.get(c.identityId, c.sessionExpiresAt, c.sessionId, c.identityId, c.identityId, c.datasetName)!;
  const currentRecords = new Map<string, CurrentRecord>();
  const keys = c.keys.length === 1 ? s.currentRecord.all(c.identityId, c.datasetName, c.keys[0]!)
    : s.currentRecords.all(c.identityId, c.datasetName, JSON.stringify(c.keys));
  for (const [key, syncCount, live, bytes] of keys) currentRecords.set(key, { syncCount, bytes, live: live === 1 });
  return {
    identity: identityAt(row, 0),
    dataset: datasetAt(row, IDENTITY_COLUMNS),
    currentRecords,
    liveDatasetCount: row[IDENTITY_COLUMNS + DATASET_COLUMNS] as number,
    sessionConsumed: row[IDENTITY_COLUMNS + DATASET_COLUMNS + 1] === 1,
  };
}

function applyPlan(s: Statements, c: WriteCommand, plan: WritePlan): void {
  const d = plan.dataset;
  if (!d) return;
  if (d.identityId !== c.identityId || d.datasetName !== c.datasetName) {
    throw new Error(`write plan for ${d.identityId}/${d.datasetName} does not match ${c.identityId}/${c.datasetName}`);
  }
  s.upsertDataset.run(
    d.identityId, d.datasetName, c.identityPoolId, d.syncCount, d.deleted ? 1 : 0, d.lastDeletedAtSyncCount,
    d.createdAt, d.lastModifiedAt, d.lastModifiedBy, d.numRecords, d.dataStorage, d.mergeParent,
  );
  for (const r of plan.records) {
    s.upsertRecord.run(
      c.identityId, c.datasetName, r.key, r.value, r.syncCount, r.lastModifiedAt, r.lastModifiedBy,
      r.deviceLastModifiedAt,
    );
  }
}

// --- rows ----------------------------------------------------------------------------------------------------

interface PoolDb { id: string; name: string; created_at: number; doc: string }
interface IdentityDb { id: string; pool_id: string; created_at: number; last_modified_at: number; disabled: number }
interface DatasetDb {
  identity_id: string; name: string; sync_count: number; deleted: number; last_deleted_at_sync_count: number | null;
  created_at: number; last_modified_at: number; last_modified_by: string; num_records: number;
  data_storage: number; merge_parent: string | null;
}
interface DeviceDb { device_id: string; identity_id: string; platform: string; token: string; created_at: number }
const map = <R, T>(row: R | undefined, to: (row: R) => T): T | undefined => (row === undefined ? undefined : to(row));
type PoolDoc = Omit<IdentityPool, 'identityPoolId' | 'identityPoolName' | 'createdAt'>;

function poolDoc(pool: IdentityPool): string {
  const { identityPoolId: _id, identityPoolName: _name, createdAt: _created, ...doc } = pool;
  return JSON.stringify(doc satisfies PoolDoc);
}
const toPool = (r: PoolDb): IdentityPool => ({
  identityPoolId: r.id, identityPoolName: r.name, ...(JSON.parse(r.doc) as PoolDoc), createdAt: r.created_at,
});
const toIdentity = (r: IdentityDb): Identity => ({
  identityId: r.id, identityPoolId: r.pool_id, createdAt: r.created_at, lastModifiedAt: r.last_modified_at,
  disabled: r.disabled === 1,
});
const toDataset = (r: DatasetDb): DatasetRow => ({
  identityId: r.identity_id, datasetName: r.name, syncCount: r.sync_count, deleted: r.deleted === 1,
  lastDeletedAtSyncCount: r.last_deleted_at_sync_count, createdAt: r.created_at, lastModifiedAt: r.last_modified_at,
  lastModifiedBy: r.last_modified_by, numRecords: r.num_records, dataStorage: r.data_storage,
  mergeParent: r.merge_parent,
});

// Raw rows (arrays, in the SELECT's column order) for the statements every sync request runs: better-sqlite3 builds
// an array faster than an object with a property per column, and reading it back by index is cheaper too.
type Value = string | number | null;
/** IDENTITY columns: id, pool_id, created_at, last_modified_at, disabled. */
const IDENTITY_COLUMNS = 5;
/** DATASET columns, in order (see prepareStatements). */
const DATASET_COLUMNS = 11;
const identityAt = (r: readonly Value[], o: number): Identity | undefined => (r[o] === null ? undefined : {
  identityId: r[o] as string, identityPoolId: r[o + 1] as string, createdAt: r[o + 2] as number,
  lastModifiedAt: r[o + 3] as number, disabled: r[o + 4] === 1,
});
/** The dataset whose columns start at `o`; undefined when they are NULL (no such row in a LEFT JOIN). */
const datasetAt = (r: readonly Value[], o: number): DatasetRow | undefined => (r[o] === null ? undefined : {
  identityId: r[o] as string, datasetName: r[o + 1] as string, syncCount: r[o + 2] as number, deleted: r[o + 3] === 1,
  lastDeletedAtSyncCount: r[o + 4] as number | null, createdAt: r[o + 5] as number, lastModifiedAt: r[o + 6] as number,
  lastModifiedBy: r[o + 7] as string, numRecords: r[o + 8] as number, dataStorage: r[o + 9] as number,
  mergeParent: r[o + 10] as string | null,
});
const toDatasetView = (r: readonly Value[]): DatasetView => {
  const merged = r[IDENTITY_COLUMNS + DATASET_COLUMNS] as string;
  return {
    identity: identityAt(r, 0),
    dataset: datasetAt(r, IDENTITY_COLUMNS),
    // Almost never a merge target: the empty list is not parsed.
    mergedDatasetNames: merged === '[]' ? [] : (JSON.parse(merged) as string[]),
  };
};
/** RECORD columns: key, value, sync_count, last_modified_at, last_modified_by, device_last_modified_at. */
const recordOf = (r: readonly Value[]): RecordRow => ({
  key: r[0] as string, value: r[1] as string | null, syncCount: r[2] as number, lastModifiedAt: r[3] as number,
  lastModifiedBy: r[4] as string, deviceLastModifiedAt: r[5] as number,
});
const toDevice = (r: DeviceDb): Device => ({
  deviceId: r.device_id, identityId: r.identity_id, platform: r.platform, token: r.token, createdAt: r.created_at,
});

const DEFAULT_SETTINGS: PoolSyncSettings = {
  events: {}, pushSync: null, cognitoStreams: null,
  bulkPublish: { status: 'NOT_STARTED', startedAt: null, completedAt: null, failureMessage: null },
};
function readSettings(s: Statements, poolId: string): PoolSyncSettings {
  const row = s.getSettings.get(poolId);
  return row ? (JSON.parse(row.doc) as PoolSyncSettings) : structuredClone(DEFAULT_SETTINGS);
}

// --- statements ----------------------------------------------------------------------------------------------

/**
 * Every statement, prepared once. Paging uses `> after` with '' for the first page: IDs, dataset names and
 * record keys are never empty (the API validates minimum lengths).
 */
function prepareStatements(db: Database) {
  const q = <P extends unknown[] | {} = unknown[], R = unknown>(sql: string) => db.prepare<P, R>(sql);
  /** A statement returning raw rows: arrays of the selected columns, in order. */
  const raw = <P extends unknown[], R extends readonly Value[]>(sql: string) => db.prepare<P, R>(sql).raw(true);
  const IDENTITY = 'id, pool_id, created_at, last_modified_at, disabled';
  const DATASET = `identity_id, name, sync_count, deleted, last_deleted_at_sync_count, created_at, last_modified_at,
    last_modified_by, num_records, data_storage, merge_parent`;
  const DATASET_D = DATASET.split(',').map((c) => `d.${c.trim()}`).join(', ');
  const IDENTITY_I = IDENTITY.split(', ').map((c) => `i.${c}`).join(', ');
  const RECORD = 'key, value, sync_count, last_modified_at, last_modified_by, device_last_modified_at';
  const DEVICE = 'device_id, identity_id, platform, token, created_at';
  // Every identity that owns something in the pool, for deleteIdentityPool.
  const POOL_IDENTITIES = 'SELECT id FROM identities WHERE pool_id = @pool UNION SELECT identity_id FROM datasets WHERE pool_id = @pool';
  return {
    begin: q('BEGIN IMMEDIATE'),
    commit: q('COMMIT'),
    rollback: q('ROLLBACK'),
    savepointBatch: q('SAVEPOINT write_batch'),
    rollbackToBatch: q('ROLLBACK TO write_batch'),
    savepoint: q('SAVEPOINT write_command'),
    release: q('RELEASE write_command'),
    rollbackTo: q('ROLLBACK TO write_command'),

    getSecret: q<[string], { value: string }>('SELECT value FROM server_secrets WHERE name = ?'),
    insertSecret: q<[string, string]>('INSERT OR IGNORE INTO server_secrets (name, value) VALUES (?, ?)'),

    insertPool: q<[string, string, number, string]>('INSERT INTO identity_pools (id, name, created_at, doc) VALUES (?, ?, ?, ?)'),
    getPool: q<[string], PoolDb>('SELECT * FROM identity_pools WHERE id = ?'),
    listPools: q<[string, number], PoolDb>('SELECT * FROM identity_pools WHERE id > ? ORDER BY id LIMIT ?'),
    updatePool: q<[string, string, string]>('UPDATE identity_pools SET name = ?, doc = ? WHERE id = ?'),
    countPools: q<[], { n: number }>('SELECT COUNT(*) AS n FROM identity_pools'),
    deletePoolData: [
      `DELETE FROM records WHERE identity_id IN (${POOL_IDENTITIES})`,
      `DELETE FROM subscriptions WHERE identity_id IN (${POOL_IDENTITIES})`,
      `DELETE FROM devices WHERE identity_id IN (${POOL_IDENTITIES})`,
      'DELETE FROM datasets WHERE pool_id = @pool',
      'DELETE FROM identities WHERE pool_id = @pool',
      'DELETE FROM pool_sync_settings WHERE pool_id = @pool',
    ].map((sql) => q<{ pool: string }>(sql)),
    deletePool: q<[string]>('DELETE FROM identity_pools WHERE id = ?'),

    insertIdentity: q<[string, string, number, number, number]>(
      'INSERT INTO identities (id, pool_id, created_at, last_modified_at, disabled) VALUES (?, ?, ?, ?, ?)'),
    getIdentity: q<[string], IdentityDb>('SELECT * FROM identities WHERE id = ?'),
    identityRow: raw<[string], Value[]>(`SELECT ${IDENTITY} FROM identities WHERE id = ?`),
    listIdentities: q<[string, string, number], IdentityDb>(
      'SELECT * FROM identities WHERE pool_id = ? AND id > ? ORDER BY id LIMIT ?'),

    getSettings: q<[string], { doc: string }>('SELECT doc FROM pool_sync_settings WHERE pool_id = ?'),
    putSettings: q<[string, string]>(
      'INSERT INTO pool_sync_settings (pool_id, doc) VALUES (?, ?) ON CONFLICT (pool_id) DO UPDATE SET doc = excluded.doc'),

    getDataset: q<[string, string], DatasetDb>(`SELECT ${DATASET} FROM datasets WHERE identity_id = ? AND name = ?`),
    listDatasets: q<[string, string, number], DatasetDb>(
      `SELECT ${DATASET} FROM datasets WHERE identity_id = ? AND deleted = 0 AND name > ? ORDER BY name LIMIT ?`),
    listMergedNames: q<[string, string], { name: string }>(
      'SELECT name FROM datasets WHERE identity_id = ? AND merge_parent = ? AND deleted = 0 ORDER BY name'),
    // getDatasetView: identity, dataset and merged names in one statement (one consistent read).
    // Parameters: identity, name (merged names), identity (identity), identity, name (dataset).
    datasetView: raw<[string, string, string, string, string], Value[]>(
      `SELECT ${IDENTITY_I}, ${DATASET_D},
         (SELECT json_group_array(name ORDER BY name) FROM datasets
           WHERE identity_id = ? AND merge_parent = ? AND deleted = 0) AS merged
       FROM (SELECT 1) LEFT JOIN identities i ON i.id = ? LEFT JOIN datasets d ON d.identity_id = ? AND d.name = ?`),
    // readWriteState: the identity and dataset rows, the identity's live dataset count and whether the session
    // was consumed. Parameters: identity (count), session expiry and id, identity (identity), identity, name (dataset).
    writeState: raw<[string, number, string, string, string, string], Value[]>(
      `SELECT ${IDENTITY_I}, ${DATASET_D},
         (SELECT COUNT(*) FROM datasets WHERE identity_id = ? AND deleted = 0) AS live_count,
         EXISTS (SELECT 1 FROM consumed_sessions WHERE expires_at = ? AND session_id = ?) AS consumed
       FROM (SELECT 1) LEFT JOIN identities i ON i.id = ? LEFT JOIN datasets d ON d.identity_id = ? AND d.name = ?`),
    // pool_id is not updated: it never changes, and leaving it out spares the datasets_by_pool index a rewrite.
    upsertDataset: q<[string, string, string, number, number, number | null, number, number, string, number, number, string | null]>(
      `INSERT INTO datasets (identity_id, name, pool_id, sync_count, deleted, last_deleted_at_sync_count, created_at,
         last_modified_at, last_modified_by, num_records, data_storage, merge_parent)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (identity_id, name) DO UPDATE SET sync_count = excluded.sync_count, deleted = excluded.deleted,
         last_deleted_at_sync_count = excluded.last_deleted_at_sync_count, created_at = excluded.created_at,
         last_modified_at = excluded.last_modified_at, last_modified_by = excluded.last_modified_by,
         num_records = excluded.num_records, data_storage = excluded.data_storage, merge_parent = excluded.merge_parent`),
    markDatasetDeleted: q<[number, string, string]>(
      `UPDATE datasets SET deleted = 1, last_deleted_at_sync_count = sync_count, num_records = 0, data_storage = 0,
         last_modified_at = ? WHERE identity_id = ? AND name = ?`),
    deleteDatasetRecords: q<[string, string]>('DELETE FROM records WHERE identity_id = ? AND dataset_name = ?'),
    deleteDatasetSubscriptions: q<[string, string]>('DELETE FROM subscriptions WHERE identity_id = ? AND dataset_name = ?'),

    // Sizes in UTF-8 bytes: the database encoding is UTF-8, so a text cast to BLOB has its UTF-8 length.
    currentRecords: raw<[string, string, string], [key: string, syncCount: number, live: number, bytes: number]>(
      `SELECT key, sync_count, value IS NOT NULL AS live,
         CASE WHEN value IS NULL THEN 0 ELSE length(CAST(key AS BLOB)) + length(CAST(value AS BLOB)) END AS bytes
       FROM records WHERE identity_id = ? AND dataset_name = ? AND key IN (SELECT value FROM json_each(?))`),
    // The same for one key (most writes), without building and walking a JSON array.
    currentRecord: raw<[string, string, string], [key: string, syncCount: number, live: number, bytes: number]>(
      `SELECT key, sync_count, value IS NOT NULL AS live,
         CASE WHEN value IS NULL THEN 0 ELSE length(CAST(key AS BLOB)) + length(CAST(value AS BLOB)) END AS bytes
       FROM records WHERE identity_id = ? AND dataset_name = ? AND key = ?`),
    // CAST: a bare `LIMIT ?` makes SQLite recompile the statement whenever it is bound again (it folds the bound
    // limit into the plan), which costs more than the query itself on this hot path.
    listRecords: raw<[string, string, number, number, number, string, number], Value[]>(
      `SELECT ${RECORD} FROM records WHERE identity_id = ? AND dataset_name = ? AND sync_count >= ? AND sync_count <= ?
         AND (sync_count, key) > (?, ?) ORDER BY sync_count, key LIMIT CAST(? AS INTEGER)`),
    upsertRecord: q<[string, string, string, string | null, number, number, string, number]>(
      `INSERT INTO records (identity_id, dataset_name, ${RECORD}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (identity_id, dataset_name, key) DO UPDATE SET value = excluded.value,
         sync_count = excluded.sync_count, last_modified_at = excluded.last_modified_at,
         last_modified_by = excluded.last_modified_by, device_last_modified_at = excluded.device_last_modified_at`),
    sessionConsumed: q<[number, string], { one: number }>(
      'SELECT 1 AS one FROM consumed_sessions WHERE expires_at = ? AND session_id = ?'),
    consumeSession: q<[number, string]>('INSERT OR IGNORE INTO consumed_sessions (expires_at, session_id) VALUES (?, ?)'),
    pruneSessions: q<[number]>('DELETE FROM consumed_sessions WHERE expires_at < ?'),

    identityUsage: q<[string], { live: number; storage: number; modified: number | null }>(
      `SELECT COUNT(*) FILTER (WHERE deleted = 0) AS live, COALESCE(SUM(data_storage) FILTER (WHERE deleted = 0), 0) AS storage,
         MAX(last_modified_at) AS modified FROM datasets WHERE identity_id = ?`),
    poolUsage: q<[string], { storage: number; sessions: number; modified: number | null }>(
      `SELECT COALESCE(SUM(data_storage) FILTER (WHERE deleted = 0), 0) AS storage,
         COALESCE(SUM(sync_count), 0) AS sessions, MAX(last_modified_at) AS modified FROM datasets WHERE pool_id = ?`),

    insertDevice: q<[string, string, string, string, number]>(
      `INSERT INTO devices (${DEVICE}) VALUES (?, ?, ?, ?, ?) ON CONFLICT (identity_id, platform, token) DO NOTHING`),
    findDevice: q<[string, string, string], DeviceDb>(
      `SELECT ${DEVICE} FROM devices WHERE identity_id = ? AND platform = ? AND token = ?`),
    getDevice: q<[string], DeviceDb>(`SELECT ${DEVICE} FROM devices WHERE device_id = ?`),
    subscribe: q<[string, string, string, number]>(
      'INSERT OR IGNORE INTO subscriptions (identity_id, dataset_name, device_id, created_at) VALUES (?, ?, ?, ?)'),
    unsubscribe: q<[string, string, string]>(
      'DELETE FROM subscriptions WHERE identity_id = ? AND dataset_name = ? AND device_id = ?'),
    subscribedDevices: q<[string, string], DeviceDb>(
      `SELECT d.device_id, d.identity_id, d.platform, d.token, d.created_at FROM subscriptions s
       JOIN devices d ON d.device_id = s.device_id WHERE s.identity_id = ? AND s.dataset_name = ? ORDER BY d.device_id`),
  };
}
type Statements = ReturnType<typeof prepareStatements>;
