// The SQLite adapter's SQL, every statement prepared once per connection.
import type { Database } from './driver.js';
import type { PoolSyncSettings } from '../types.js';
import { DEFAULT_SETTINGS, type DatasetDb, type DeviceDb, type IdentityDb, type PoolDb, type Value } from './rows.js';

/**
 * Every statement, prepared once. Paging uses `> after` with '' for the first page: IDs, dataset names and
 * record keys are never empty (the API validates minimum lengths).
 *
 * Two spellings keep SQLite from compiling a statement again each time it is bound anew, which cost more than the
 * query itself (bench/README.md):
 * - `LIMIT CAST(? AS INTEGER)`, not `LIMIT ?`: SQLite folds a bare bound limit into the plan.
 * - `column = +?` in statements with an ORDER BY or a LEFT JOIN: SQLite 3.54 (better-sqlite3 13, loaded on Node 22
 *   and later) plans those with the bound value of a bare parameter compared to an indexed column, and so marks them
 *   for recompiling whenever that parameter is bound; there they ran 5 to 12 times slower. Unary plus leaves a value
 *   unchanged (text stays text) and the column side still uses its index.
 */
export function prepareStatements(db: Database) {
  const q = <P extends unknown[] | {} = unknown[], R = unknown>(sql: string) => db.prepare<P, R>(sql);
  /** A statement returning raw rows: arrays of the selected columns, in order. */
  const raw = <P extends unknown[], R extends readonly Value[]>(sql: string) => db.prepare<P, R>(sql).raw(true);
  const IDENTITY = 'id, pool_id, created_at, last_modified_at, disabled';
  const DATASET = `identity_id, name, sync_count, deleted, last_deleted_at_sync_count, created_at, last_modified_at,
    last_modified_by, num_records, data_storage, merge_parent`;
  const DATASET_D = DATASET.split(',').map((c) => `d.${c.trim()}`).join(', ');
  const IDENTITY_I = IDENTITY.split(', ').map((c) => `i.${c}`).join(', ');
  const RECORD = 'key, value, sync_count, last_modified_at, last_modified_by, device_last_modified_at';
  const WRITE_STATE = `${IDENTITY_I}, ${DATASET_D},
    (SELECT COUNT(*) FROM datasets WHERE identity_id = +? AND deleted = 0) AS live_count,
    EXISTS (SELECT 1 FROM consumed_sessions WHERE expires_at = +? AND session_id = +?) AS consumed`;
  // An identity of a pool being deleted (pool-deletion.ts) reads as absent to a write, so the write is refused
  // from the moment the pool is marked, although the identity's rows may not be deleted yet.
  const WRITE_STATE_FROM = `FROM (SELECT 1)
    LEFT JOIN identities i ON i.id = +? AND NOT EXISTS (SELECT 1 FROM deleted_pools p WHERE p.pool_id = i.pool_id)
    LEFT JOIN datasets d ON d.identity_id = +? AND d.name = +?`;
  // And to a read, while its rows outlive the pool (a big pool is purged in chunks): its pool is marked and its row
  // gone (one transaction, pool-deletion.ts). A pool created again under a marked ID has its row again, and its
  // identities are read.
  const POOL_NOT_DELETED = (identities: string) =>
    `NOT EXISTS (SELECT 1 FROM deleted_pools p WHERE p.pool_id = ${identities}.pool_id
       AND NOT EXISTS (SELECT 1 FROM identity_pools ip WHERE ip.id = p.pool_id))`;
  /**
   * A record's state for a write plan (columns prefixed with `t`: an alias and a dot, or nothing): key, sync count,
   * live, size. Sizes are in UTF-8 bytes: the database encoding is UTF-8, so a text cast to BLOB has its UTF-8
   * length.
   */
  const currentRecord = (t: string) => `${t}key, ${t}sync_count, ${t}value IS NOT NULL AS live,
    CASE WHEN ${t}value IS NULL THEN 0 ELSE length(CAST(${t}key AS BLOB)) + length(CAST(${t}value AS BLOB)) END AS bytes`;
  const DEVICE = 'device_id, identity_id, platform, token, created_at';
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
    listPools: q<[string, number], PoolDb>('SELECT * FROM identity_pools WHERE id > ? ORDER BY id LIMIT CAST(? AS INTEGER)'),
    updatePool: q<[string, string, string]>('UPDATE identity_pools SET name = ?, doc = ? WHERE id = ?'),
    countPools: q<[], { n: number }>('SELECT COUNT(*) AS n FROM identity_pools'),
    // deleteIdentityPool's statements are in pool-deletion.ts.

    insertIdentity: q<[string, string, number, number, number]>(
      'INSERT INTO identities (id, pool_id, created_at, last_modified_at, disabled) VALUES (?, ?, ?, ?, ?)'),
    getIdentity: q<[string], IdentityDb>('SELECT * FROM identities WHERE id = ?'),
    // What the store answers for getIdentity: none for an identity of a pool being deleted (POOL_NOT_DELETED).
    identityRow: raw<[string], Value[]>(`SELECT ${IDENTITY} FROM identities WHERE id = ? AND ${POOL_NOT_DELETED('identities')}`),
    listIdentities: q<[string, string, number], IdentityDb>(
      'SELECT * FROM identities WHERE pool_id = +? AND id > ? ORDER BY id LIMIT CAST(? AS INTEGER)'),

    getSettings: q<[string], { doc: string }>('SELECT doc FROM pool_sync_settings WHERE pool_id = ?'),
    putSettings: q<[string, string]>(
      'INSERT INTO pool_sync_settings (pool_id, doc) VALUES (?, ?) ON CONFLICT (pool_id) DO UPDATE SET doc = excluded.doc'),

    getDataset: q<[string, string], DatasetDb>(`SELECT ${DATASET} FROM datasets WHERE identity_id = ? AND name = ?`),
    listDatasets: q<[string, string, number], DatasetDb>(
      `SELECT ${DATASET} FROM datasets WHERE identity_id = +? AND deleted = 0 AND name > ? ORDER BY name
         LIMIT CAST(? AS INTEGER)`),
    listMergedNames: q<[string, string], { name: string }>(
      'SELECT name FROM datasets WHERE identity_id = +? AND merge_parent = +? AND deleted = 0 ORDER BY name'),
    // getDatasetView: identity, dataset and merged names in one statement (one consistent read).
    // Parameters: identity, name (merged names), identity (identity), identity, name (dataset).
    // The merged names come unordered and are sorted when read (toDatasetView): an aggregate's own ORDER BY sets up
    // a sorter on every call, a fifth of this statement's time on an identity with no merged datasets.
    datasetView: raw<[string, string, string, string, string], Value[]>(
      `SELECT ${IDENTITY_I}, ${DATASET_D},
         (SELECT json_group_array(name) FROM datasets
           WHERE identity_id = +? AND merge_parent = +? AND deleted = 0) AS merged
       FROM (SELECT 1) LEFT JOIN identities i ON i.id = +? AND ${POOL_NOT_DELETED('i')}
         LEFT JOIN datasets d ON d.identity_id = +? AND d.name = +?`),
    // readWriteState: the identity and dataset rows, the identity's live dataset count and whether the session
    // was consumed. Parameters: identity (count), session expiry and id, identity (identity), identity, name (dataset).
    writeState: raw<[string, number, string, string, string, string], Value[]>(`SELECT ${WRITE_STATE} ${WRITE_STATE_FROM}`),
    // The same and, for a write of one key (most writes), that record's current state: one statement, not two.
    // Parameters: as writeState, then identity, name, key (record).
    writeStateOneKey: raw<[string, number, string, string, string, string, string, string, string], Value[]>(
      `SELECT ${WRITE_STATE}, ${currentRecord('r.')} ${WRITE_STATE_FROM}
       LEFT JOIN records r ON r.identity_id = +? AND r.dataset_name = +? AND r.key = +?`),
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

    // The current state of the records a write of any other number of keys names (a JSON array of keys).
    currentRecords: raw<[string, string, string], [key: string, syncCount: number, live: number, bytes: number]>(
      `SELECT ${currentRecord('')}
       FROM records WHERE identity_id = ? AND dataset_name = ? AND key IN (SELECT value FROM json_each(?))`),
    listRecords: raw<[string, string, number, number, number, string, number], Value[]>(
      `SELECT ${RECORD} FROM records WHERE identity_id = +? AND dataset_name = +? AND sync_count >= ? AND sync_count <= ?
         AND (sync_count, key) > (?, ?) ORDER BY sync_count, key LIMIT CAST(? AS INTEGER)`),
    upsertRecord: q<[string, string, string, string | null, number, number, string, number]>(
      `INSERT INTO records (identity_id, dataset_name, ${RECORD}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (identity_id, dataset_name, key) DO UPDATE SET value = excluded.value,
         sync_count = excluded.sync_count, last_modified_at = excluded.last_modified_at,
         last_modified_by = excluded.last_modified_by, device_last_modified_at = excluded.device_last_modified_at`),
    sessionConsumed: q<[number, string], { one: number }>(
      'SELECT 1 AS one FROM consumed_sessions WHERE expires_at = ? AND session_id = ?'),
    consumeSession: q<[number, string]>('INSERT OR IGNORE INTO consumed_sessions (expires_at, session_id) VALUES (?, ?)'),
    // One chunk of the expired markers, oldest first (pruneConsumedSessions runs chunks with turns in between).
    pruneSessions: q<[number, number]>(
      `DELETE FROM consumed_sessions WHERE (expires_at, session_id) IN
         (SELECT expires_at, session_id FROM consumed_sessions WHERE expires_at < ? ORDER BY expires_at LIMIT ?)`),

    identityUsage: q<[string], { live: number; storage: number; modified: number | null }>(
      `SELECT COUNT(*) FILTER (WHERE deleted = 0) AS live, COALESCE(SUM(data_storage) FILTER (WHERE deleted = 0), 0) AS storage,
         MAX(last_modified_at) AS modified FROM datasets WHERE identity_id = ?`),

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
       JOIN devices d ON d.device_id = s.device_id WHERE s.identity_id = +? AND s.dataset_name = +? ORDER BY d.device_id`),
  };
}
export type Statements = ReturnType<typeof prepareStatements>;

/** The pool's sync settings as stored, or the defaults for a pool that never set any. */
export function readSettings(s: Statements, poolId: string): PoolSyncSettings {
  const row = s.getSettings.get(poolId);
  return row ? (JSON.parse(row.doc) as PoolSyncSettings) : structuredClone(DEFAULT_SETTINGS);
}
