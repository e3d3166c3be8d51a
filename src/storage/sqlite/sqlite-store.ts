import { closeSync, mkdirSync, openSync } from 'node:fs';
import { setImmediate as setImmediatePromise } from 'node:timers/promises';
import { dirname } from 'node:path';
import { Database } from './driver.js';
import type { SyncStore } from '../store.js';
import type {
  DatasetWriteState, Device, Identity, IdentityPool, PoolSyncSettings, WriteCommand, WritePlan,
} from '../types.js';
import { migrate } from './migrations.js';
import { prepareIdentityLinks } from './identity-links.js';
import { BUSY_TIMEOUT_MS, createGroupCommit } from './group-commit.js';
import { NO_FILE_GUARD, guardDatabaseFile, type FileGuard } from './file-guard.js';
import { identityAt, map, poolDoc, recordOf, toDataset, toDatasetView, toDevice, toIdentity, toPool } from './rows.js';
import { prepareStatements, readSettings } from './statements.js';
import { preparePoolDeletion } from './pool-deletion.js';
import { StoreClosedError } from '../closed.js';
import { preparePoolUsage } from './pool-usage.js';

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
  /** Told the schema versions the open applied, when it applied any. */
  readonly onMigrated?: ((applied: readonly number[]) => void) | undefined;
}

/** The size a grown WAL is cut back to (journal_size_limit). */
export const WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;
/** Expired session markers deleted per statement by pruneConsumedSessions (a few ms of work). */
export const PRUNE_CHUNK = 2000;

/**
 * Opens the database with the engine's pragmas and migrates it. Exported for tests that inspect the pragmas.
 * Throws (and closes the handle) when migration fails, e.g. SchemaTooNewError.
 */
export function openSqliteDatabase(options: SqliteStoreOptions): Database {
  // A new file, and any folder it needs, are created readable by their owner alone: the file holds every user's data
  // and the session-token key (SECURITY.md). SQLite gives the -wal and -shm files the database file's mode.
  if (options.file !== ':memory:') {
    mkdirSync(dirname(options.file), { recursive: true, mode: 0o700 });
    closeSync(openSync(options.file, 'a', 0o600));
  }
  const db = new Database(options.file);
  try {
    // Before WAL is entered: in exclusive mode SQLite then keeps the WAL index in this process's memory rather
    // than in a shared-memory file, and locks the database file when it first opens the WAL (just below).
    if (options.exclusive && options.file !== ':memory:') db.pragma('locking_mode = EXCLUSIVE');
    // WAL: readers never block the writer, and a commit is one sequential append (+ one fsync under FULL).
    if (options.file !== ':memory:') db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL'}`);
    // A WAL that grew while checkpoints could not restart it (a sibling worker's reads held them back) is cut back to
    // this size at its next restart, rather than keeping its largest size for as long as the server runs.
    db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
    // Another process holding the write lock is waited for rather than failing at once.
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    const applied = migrate(db);
    if (applied.length > 0) options.onMigrated?.(applied);
    return db;
  } catch (error) {
    db.close();
    const code = (error as { code?: unknown }).code;
    if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
      throw new Error(
        `The SQLite database ${options.file} cannot be read (${(error as Error).message}): it is not a database, or it ` +
          'is damaged. Restore it from a backup, or move it away to start with an empty one.',
        { cause: error },
      );
    }
    if (code !== 'SQLITE_BUSY') throw error;
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
  // Exclusive locking holds the file's lock from the open on, and nothing else can reach a private in-memory
  // database: no other process can take the write lock.
  const ownsWriteLock = options.exclusive === true || options.file === ':memory:';
  const guard = options.file === ':memory:' ? NO_FILE_GUARD : guardDatabaseFile(options.file);
  const groupCommit = createGroupCommit(db, s, { ownsWriteLock, afterCommit: guard.check });
  const links = prepareIdentityLinks(db, () => groupCommit.flush());
  // After close(), better-sqlite3 itself rejects every call ("database connection is not open"); only
  // writeRecords needs its own check, since a queued command would otherwise never settle.
  let closing: Promise<void> | undefined;
  // IMMEDIATE transactions for read-modify-write: take the write lock before reading, so another process
  // cannot commit in between (a deferred transaction would fail to upgrade its stale snapshot instead).
  const upsertSettings = db.transaction((poolId: string, update: (current: PoolSyncSettings) => PoolSyncSettings) => {
    if (!s.getPool.get(poolId)) return undefined;
    const doc = JSON.stringify(update(readSettings(s, poolId)));
    s.putSettings.run(poolId, doc);
    return JSON.parse(doc) as PoolSyncSettings;
  });
  const addPool = db.transaction((p: IdentityPool, maxPools: number): boolean => {
    if (s.countPools.get()!.n >= maxPools) return false;
    s.insertPool.run(p.identityPoolId, p.identityPoolName, p.createdAt, poolDoc(p));
    return true;
  });
  const modifyPool = db.transaction((id: string, change: (current: IdentityPool) => IdentityPool) => {
    const row = s.getPool.get(id);
    if (!row) return undefined;
    const next = change(toPool(row));
    s.updatePool.run(next.identityPoolName, poolDoc(next), id);
    return next;
  });
  // A pool, identity or device deleted since the operation read it gets nothing stored: it would be left behind.
  const addIdentity = db.transaction((i: Identity, poolMustExist: boolean): boolean => {
    if (poolMustExist && !s.getPool.get(i.identityPoolId)) return false;
    s.insertIdentity.run(i.identityId, i.identityPoolId, i.createdAt, i.lastModifiedAt, i.disabled ? 1 : 0);
    return true;
  });
  const addDevice = db.transaction((d: Device): Device | undefined => {
    if (!s.getIdentity.get(d.identityId)) return undefined;
    // The UNIQUE (identity, platform, token) makes registration idempotent, across processes too.
    s.insertDevice.run(d.deviceId, d.identityId, d.platform, d.token, d.createdAt);
    return toDevice(s.findDevice.get(d.identityId, d.platform, d.token)!);
  });
  const addSubscription = db.transaction((identityId: string, name: string, deviceId: string, now: number): boolean => {
    if (s.getDevice.get(deviceId)?.identity_id !== identityId) return false;
    const dataset = s.getDataset.get(identityId, name);
    if (!dataset || dataset.deleted) return false;
    s.subscribe.run(identityId, name, deviceId, now);
    return true;
  });
  const removeDataset = db.transaction((identityId: string, name: string, now: number) => {
    const row = s.getDataset.get(identityId, name);
    if (!row || row.deleted) return undefined;
    s.markDatasetDeleted.run(now, identityId, name);
    s.deleteDatasetRecords.run(identityId, name);
    s.deleteDatasetSubscriptions.run(identityId, name);
    return toDataset(row);
  });
  // Marked at the call, then deleted in chunks between which other requests run; a deletion a stopped process left
  // unfinished is finished after the open (pool-deletion.ts).
  const poolDeletion = preparePoolDeletion(db, ownsWriteLock, () => closing !== undefined);
  poolDeletion.resumeInterrupted();
  // Summed in chunks between which other requests run (pool-usage.ts).
  const poolUsage = preparePoolUsage(db, () => closing !== undefined);

  const methods: Omit<SyncStore, 'engine' | 'close'> = {
    async getOrCreateSecret(name, generate) {
      const existing = s.getSecret.get(name);
      if (existing) return existing.value;
      // INSERT OR IGNORE then SELECT: when two instances race, both read the value of the first insert.
      s.insertSecret.run(name, generate());
      return s.getSecret.get(name)!.value;
    },

    createIdentityPool: async (p, maxPools = Infinity) => addPool.immediate(p, maxPools),
    getIdentityPool: async (id) => map(s.getPool.get(id), toPool),
    listIdentityPools: async (page) => s.listPools.all(page.after ?? '', page.limit).map(toPool),
    modifyIdentityPool: async (id, change) => modifyPool.immediate(id, change),
    deleteIdentityPool: (id) => poolDeletion.deletePool(id),

    createIdentity: async (i, options) => addIdentity.immediate(i, options?.poolMustExist === true),
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
      if (closing) return Promise.reject(new StoreClosedError());
      return groupCommit.enqueue(command, plan);
    },
    deleteDataset: async (identityId, name, now) => removeDataset.immediate(identityId, name, now),
    isSessionConsumed: async (_identityId, session) => s.sessionConsumed.get(session.expiresAt, session.sessionId) !== undefined,
    async pruneConsumedSessions(now) {
      // In chunks, with a turn of the event loop between them: one DELETE of every marker of ten busy minutes
      // held every request of the process (an audit saw 122 ms for 60k markers).
      let pruned = 0;
      for (;;) {
        const changes = s.pruneSessions.run(now, PRUNE_CHUNK).changes;
        pruned += changes;
        if (changes < PRUNE_CHUNK) return pruned;
        await setImmediatePromise();
        // The store began to close meanwhile: the rest waits for the next prune (after the next open).
        if (closing !== undefined) return pruned;
      }
    },

    async getIdentityUsage(identityId) {
      const row = s.identityUsage.get(identityId)!;
      return { datasetCount: row.live, dataStorage: row.storage, lastModifiedAt: row.modified };
    },
    getPoolUsage: poolUsage,

    registerDevice: async (d) => addDevice.immediate(d),
    async getDevice(identityId, deviceId) {
      const row = s.getDevice.get(deviceId);
      return row?.identity_id === identityId ? toDevice(row) : undefined;
    },
    subscribe: async (identityId, name, deviceId, now) => addSubscription.immediate(identityId, name, deviceId, now),
    unsubscribe: async (identityId, name, deviceId) => s.unsubscribe.run(identityId, name, deviceId).changes > 0,
    listSubscribedDevices: async (identityId, name) => s.subscribedDevices.all(identityId, name).map(toDevice),
  };

  return {
    engine: 'sqlite',
    ...guarded(methods, guard),
    close() {
      closing ??= (async () => {
        guard.stop();
        groupCommit.flush();
        db.close();
      })();
      return closing;
    },
  };
}

/** The store's methods that may write, writeRecords apart (its group commit checks the file after each COMMIT). */
const WRITE_METHODS: ReadonlySet<string> = new Set<keyof SyncStore>([
  'getOrCreateSecret', 'createIdentityPool', 'modifyIdentityPool', 'deleteIdentityPool', 'createIdentity',
  'deleteIdentity', 'linkLogin', 'unlinkLogins', 'mergeIdentities', 'updatePoolSyncSettings', 'deleteDataset',
  'pruneConsumedSessions', 'registerDevice', 'subscribe', 'unsubscribe',
]);

/**
 * The methods, failing once the file is found gone (file-guard.ts): every call first asks the guard (no system
 * call), and a write looks at the file after it committed, so that it is never acknowledged when it went to a
 * deleted file. Plain functions, not async ones: the hot reads pay no extra promise.
 */
function guarded<T extends object>(methods: T, guard: FileGuard): T {
  return Object.fromEntries(Object.entries(methods).map(([name, method]) => {
    const call = method as (...args: unknown[]) => Promise<unknown>;
    const checked = (...args: unknown[]): Promise<unknown> => {
      try {
        guard.assertIntact();
      } catch (error) {
        return Promise.reject(error);
      }
      return WRITE_METHODS.has(name) ? call(...args).then((result) => (guard.check(), result)) : call(...args);
    };
    return [name, checked];
  })) as T;
}
