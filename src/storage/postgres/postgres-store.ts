import type { SyncStore } from '../store.js';
import type { DatasetWriteState, IdentityPool, PoolSyncSettings, PoolUsage, WriteCommand, WritePlan } from '../types.js';
import { batchedCalls } from './batched-calls.js';
import { SCHEMA_CHECK_INTERVAL_MS, migrate, watchSchemaVersion } from './migrations.js';
import { BEGIN, COMMIT, createDb, type PgPoolOptions, type Statement } from './pool.js';
import { dropLockOfDeleted, identityLinkMethods, lockKnownIdentity } from './identity-links.js';
import {
  DATASET, DEFAULT_SETTINGS, DEVICE, IDENTITY, hasNul, map, poolDoc, toDataset, toDatasetView, toDevice, toIdentity, toPool,
  toRecord, type DatasetDb, type DeviceDb, type IdentityDb, type PoolDb,
} from './rows.js';
import { writeBatcher } from './write-batcher.js';
import { explainStartFailure } from './start-failures.js';
import { poolDeletion } from './pool-deletion.js';
import { StoreClosedError } from '../closed.js';

export interface PostgresStoreOptions extends PgPoolOptions {
  /** Told the schema versions the open applied, when it applied any. */
  readonly onMigrated?: ((applied: readonly number[]) => void) | undefined;
  /** Told, once per version, that another instance migrated the schema beyond this release (watchSchemaVersion). */
  readonly onSchemaAhead?: ((version: number, known: number) => void) | undefined;
  /** How often to look for that; default SCHEMA_CHECK_INTERVAL_MS. */
  readonly schemaCheckIntervalMs?: number | undefined;
}

/**
 * Migrates on a connection of its own, without the statement timeout requests have: rewriting a big table can take
 * minutes, and so can waiting for another instance doing it (the advisory lock in migrate()).
 */
async function migrateSchema(options: PostgresStoreOptions): Promise<void> {
  const db = createDb({ ...options, poolSize: 1, statementTimeoutMs: 0 });
  try {
    const applied = await migrate(db);
    if (applied.length > 0) options.onMigrated?.(applied);
  } catch (error) {
    throw explainStartFailure(error, options.url);
  } finally {
    await db.end().catch(() => {});
  }
}

/**
 * The PostgreSQL SyncStore: stateless, so any number of server instances can share one database.
 *
 * Concurrency: every write to an identity's sync data (writeRecords, deleteDataset, mergeIdentities,
 * deleteIdentity) first locks that identity's row in `sync_locks` inside its transaction, then reads with a fresh
 * snapshot (READ COMMITTED takes one per statement). Writes to one identity are therefore serialised across
 * connections and instances — each UpdateRecords plan sees every earlier commit, so sync counts never repeat or
 * skip and the dataset quota holds — while different identities never wait for each other.
 *
 * Round trips of one UpdateRecords commit (writeRecords): two, shared by the writes of other identities made at
 * the same moment (group commit, write-batcher.ts). First [BEGIN, lock, read states], pipelined; the domain's
 * plans run; then [apply plans + consume sessions (one statement), COMMIT], pipelined. A plan that throws rejects
 * its own write only. test/storage/postgres.test.ts measures this through a delaying proxy.
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<SyncStore> {
  await migrateSchema(options);
  const db = createDb(options);
  const stopSchemaWatch = options.onSchemaAhead
    ? watchSchemaVersion(db, options.schemaCheckIntervalMs ?? SCHEMA_CHECK_INTERVAL_MS, options.onSchemaAhead)
    : () => {};

  // close() waits for calls in flight; a call made after close() is refused.
  const inFlight = new Set<Promise<unknown>>();
  let closing: Promise<void> | undefined;
  function track<A extends unknown[], R>(fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
    return (...args: A) => {
      if (closing) return Promise.reject(new StoreClosedError());
      const p = fn(...args);
      inFlight.add(p);
      const forget = () => inFlight.delete(p);
      p.then(forget, forget);
      return p;
    };
  }
  // Reads (retried on another connection when the one they got was dead); writes go through db.query.
  const rows = async <R>(statement: Statement): Promise<R[]> => (await db.read(statement)).rows as R[];
  const row = async <R>(statement: Statement): Promise<R | undefined> => (await rows<R>(statement))[0];

  const { identities, datasetViews, recordPages, takeTokens } = batchedCalls(db);

  // Marked in one short transaction, then deleted by steps each far below the statement timeout; deletions an
  // instance stopped half-way are finished after the open, in the background (pool-deletion.ts).
  const pools = poolDeletion(db, () => closing !== undefined);
  const resuming = pools.resumeInterrupted();
  inFlight.add(resuming);
  void resuming.finally(() => inFlight.delete(resuming));

  const writeBatch = writeBatcher(db, {
    // More batches in flight mostly make smaller batches (more round trips and socket writes per write) without
    // committing faster; a few keep the database's cores busy while others wait for their answers.
    maxInFlight: Math.max(1, Math.min(4, Math.floor(options.poolSize / 2))),
    maxBatch: 64,
  });

  const store: Omit<SyncStore, 'engine' | 'close'> = {
    async getOrCreateSecret(name, generate) {
      const existing = await row<{ value: string }>(q.getSecret(name));
      if (existing) return existing.value;
      // Insert if absent, then read: when instances race, all read the value of the first insert.
      const [, read] = await db.batch([q.insertSecret(name, generate()), q.getSecret(name)]);
      return (read!.rows[0] as { value: string }).value;
    },

    // --- identity pools ---------------------------------------------------------------------------------
    createIdentityPool: (p, maxPools) => db.transaction(async (tx) => {
      // Creations wait for each other (only they take this lock), so each counts the pools of those before it.
      const results = await tx.run([
        BEGIN,
        ...(maxPools === undefined ? [] : [{
          text: 'SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))', values: [POOL_CREATION_LOCK_CLASS],
        }]),
        q.insertPool(p, maxPools),
        COMMIT,
      ]);
      return (results.at(-2)?.rowCount ?? 0) > 0;
    }),
    getIdentityPool: async (id) => map(await row<PoolDb>(q.getPool(id)), toPool),
    listIdentityPools: async (page) => (await rows<PoolDb>(q.listPools(page.after ?? '', page.limit))).map(toPool),
    // FOR NO KEY UPDATE: serialises changes of the pool, not the settings updates and identity creations that only
    // key-share lock it.
    modifyIdentityPool: (id, change) => db.transaction(async (tx) => {
      const [, read] = await tx.run([
        BEGIN,
        {
          text: 'SELECT pool_id, name, created_at, doc FROM identity_pools WHERE pool_id = $1 FOR NO KEY UPDATE',
          values: [id],
        },
      ]);
      const current = read!.rows[0] as PoolDb | undefined;
      if (current === undefined) {
        await tx.run([COMMIT]);
        return undefined;
      }
      const next = change(toPool(current));
      await tx.run([q.updatePool({ ...next, identityPoolId: id }), COMMIT]);
      return next;
    }),
    deleteIdentityPool: (id) => pools.deletePool(id),

    // --- identities ---------------------------------------------------------------------------------------
    async createIdentity(i, options) {
      const values = [i.identityId, i.identityPoolId, i.createdAt, i.lastModifiedAt, i.disabled];
      const columns = 'identity_id, pool_id, created_at, last_modified_at, disabled';
      if (!options?.poolMustExist) {
        await db.query({
          name: 'cosync_insert_identity', text: `INSERT INTO identities (${columns}) VALUES ($1, $2, $3, $4, $5)`, values,
        });
        return true;
      }
      // The pool's row key-share locked: its deletion (which locks it first) waits for this identity and deletes it,
      // or this waits for the deletion and finds no pool.
      return db.transaction(async (tx) => {
        const [, , inserted] = await tx.run([
          BEGIN,
          q.keySharePoolRow(i.identityPoolId),
          {
            text: `INSERT INTO identities (${columns}) SELECT $1, $2, $3, $4, $5
                   WHERE EXISTS (SELECT 1 FROM identity_pools WHERE pool_id = $2)`,
            values,
          },
          COMMIT,
        ]);
        return (inserted!.rowCount ?? 0) > 0;
      });
    },
    // Every sync operation starts with it: concurrent calls share one statement (read-batcher.ts).
    getIdentity: async (id) => map(await identities(id), toIdentity),
    listIdentities: async (poolId, page) => (await rows<IdentityDb>({
      text: `SELECT ${IDENTITY} FROM identities WHERE pool_id = $1 AND identity_id > $2 ORDER BY identity_id LIMIT $3`,
      values: [poolId, page.after ?? '', page.limit],
    })).map(toIdentity),
    ...identityLinkMethods(db),

    // --- settings -----------------------------------------------------------------------------------------
    getPoolSyncSettings: async (poolId) =>
      (await row<{ doc: PoolSyncSettings }>(q.getSettings(poolId)))?.doc ?? structuredClone(DEFAULT_SETTINGS),
    updatePoolSyncSettings: (poolId, update) => db.transaction(async (tx) => {
      // The pool's row, key-share locked so that its deletion (which locks it first, deleteIdentityPool) waits for
      // this update or this update for it; then the settings row locked (inserted with the defaults when there is
      // none, only for a pool that exists) and read with a fresh snapshot.
      const [, , , read] = await tx.run([
        BEGIN,
        q.keySharePoolRow(poolId),
        {
          text: `INSERT INTO pool_sync_settings (pool_id, doc)
                 SELECT $1, $2::json WHERE EXISTS (SELECT 1 FROM identity_pools WHERE pool_id = $1)
                 ON CONFLICT (pool_id) DO UPDATE SET doc = excluded.doc WHERE false`,
          values: [poolId, JSON.stringify(DEFAULT_SETTINGS)],
        },
        q.getSettings(poolId),
      ]);
      const current = read!.rows[0] as { doc: PoolSyncSettings } | undefined;
      if (current === undefined) {
        await tx.run([COMMIT]);
        return undefined;
      }
      const doc = JSON.stringify(update(current.doc));
      await tx.run([{ text: 'UPDATE pool_sync_settings SET doc = $2::json WHERE pool_id = $1', values: [poolId, doc] }, COMMIT]);
      return JSON.parse(doc) as PoolSyncSettings;
    }),

    // --- datasets and records -----------------------------------------------------------------------------
    getDataset: async (identityId, name) => map(await row<DatasetDb>(q.getDataset(identityId, name)), toDataset),
    listDatasets: async (identityId, page) => (await rows<DatasetDb>({
      name: 'cosync_list_datasets',
      text: `SELECT ${DATASET} FROM datasets WHERE identity_id = $1 AND NOT deleted AND name > $2 ORDER BY name LIMIT $3`,
      values: [identityId, page.after ?? '', page.limit],
    })).map(toDataset),
    listMergedDatasetNames: async (identityId, name) => (await rows<{ name: string }>({
      text: `SELECT name FROM datasets WHERE identity_id = $1 AND merge_parent = $2 AND NOT deleted ORDER BY name`,
      values: [identityId, name],
    })).map((r) => r.name),
    // ListRecords starts with it: concurrent calls share one statement (read-batcher.ts).
    getDatasetView: async (identityId, name) => toDatasetView(await datasetViews({ identityId, name })),
    async listRecords(identityId, name, range, page) {
      // Without `after`, (since, '') is below every row the range admits; `from` lets the index scan start at
      // the page's position rather than at the start of the range. Concurrent calls share one statement.
      const after = page.after ?? { syncCount: range.sinceSyncCount, key: '' };
      const from = Math.max(range.sinceSyncCount + 1, after.syncCount);
      return (await recordPages({ identityId, name, from, upTo: range.upToSyncCount, after, limit: page.limit })).map(toRecord);
    },
    // Group commit of concurrent writes of different identities (write-batcher.ts); a lone write is one
    // transaction of its own, as before: [BEGIN, lock, read state], plan, [apply, COMMIT].
    writeRecords: <T extends WritePlan>(command: WriteCommand, plan: (state: DatasetWriteState) => T): Promise<T> =>
      writeBatch(command, plan),
    deleteDataset: (identityId, name, now) => db.transaction(async (tx) => {
      const results = await tx.run([BEGIN, q.lockExistingIdentity(identityId), q.deleteDataset(identityId, name, now), COMMIT]);
      return map(results[2]!.rows[0] as DatasetDb | undefined, toDataset);
    }),
    isSessionConsumed: async (identityId, session) => (await row({
      name: 'cosync_session_consumed',
      text: 'SELECT 1 AS one FROM consumed_sessions WHERE identity_id = $1 AND session_id = $2',
      values: [identityId, session.sessionId],
    })) !== undefined,
    async pruneConsumedSessions(now) {
      // Throttle buckets full again are forgotten on the same schedule: a missing bucket is a full one.
      const [sessions] = await db.batch([
        { text: 'DELETE FROM consumed_sessions WHERE expires_at < $1', values: [now] },
        { text: 'DELETE FROM throttle_buckets WHERE full_at < extract(epoch FROM clock_timestamp())' },
      ]);
      return sessions!.rowCount;
    },
    // One call of cosync_take_tokens_batch for the requests of the moment (read-batcher.ts).
    takeTokens: async (buckets) => (await takeTokens(buckets)) ?? undefined,

    // --- usage ----------------------------------------------------------------------------------------------
    async getIdentityUsage(identityId) {
      const r = (await row<{ live: number; storage: number; modified: number | null }>({
        text: `SELECT COUNT(*) FILTER (WHERE NOT deleted) AS live,
                 COALESCE(SUM(data_storage) FILTER (WHERE NOT deleted), 0)::bigint AS storage,
                 MAX(last_modified_at) AS modified
               FROM datasets WHERE identity_id = $1`,
        values: [identityId],
      }))!;
      return { datasetCount: r.live, dataStorage: r.storage, lastModifiedAt: r.modified };
    },
    async getPoolUsage(poolIds) {
      const found = await rows<{ pool_id: string; storage: number; sessions: number; modified: number | null }>({
        text: `SELECT p.pool_id, u.storage, u.sessions, u.modified
               FROM unnest($1::text[]) WITH ORDINALITY AS p(pool_id, ord)
               CROSS JOIN LATERAL (
                 SELECT COALESCE(SUM(data_storage) FILTER (WHERE NOT deleted), 0)::bigint AS storage,
                   COALESCE(SUM(sync_count), 0)::bigint AS sessions, MAX(last_modified_at) AS modified
                 FROM datasets WHERE pool_id = p.pool_id
               ) u
               ORDER BY p.ord`,
        values: [poolIds],
      });
      return found.map((r): PoolUsage => ({
        identityPoolId: r.pool_id, dataStorage: r.storage, syncSessionsCount: r.sessions, lastModifiedAt: r.modified,
      }));
    },

    // --- devices and subscriptions --------------------------------------------------------------------------
    // Under the identity's lock (as deleteIdentity takes it), and only for an identity that exists: a registration
    // racing the identity's deletion either commits first and is deleted with it, or finds no identity.
    registerDevice: (d) => db.transaction(async (tx) => {
      // The UNIQUE (identity, platform, digest of the token) makes registration idempotent, across instances too.
      const results = await tx.run([
        BEGIN,
        lockKnownIdentity(d.identityId),
        {
          text: `INSERT INTO devices (${DEVICE}) SELECT $1, $2, $3, $4, $5
                 WHERE EXISTS (SELECT 1 FROM identities WHERE identity_id = $1)
                 ON CONFLICT (identity_id, platform, token_md5) DO NOTHING`,
          values: [d.identityId, d.deviceId, d.platform, d.token, d.createdAt],
        },
        {
          text: `SELECT ${DEVICE} FROM devices WHERE identity_id = $1 AND platform = $2 AND token_md5 = md5($3) AND token = $3`,
          values: [d.identityId, d.platform, d.token],
        },
      ]);
      // COMMIT on its own: what came before may be run again on another connection when this one was found dead,
      // as registration is idempotent.
      await tx.run([dropLockOfDeleted(d.identityId), COMMIT]);
      return map(results[3]!.rows[0] as DeviceDb | undefined, toDevice);
    }),
    // Device IDs are server-made UUIDs: one holding U+0000 (which a text parameter cannot carry) names no device.
    getDevice: async (identityId, deviceId) => hasNul(deviceId) ? undefined : map(await row<DeviceDb>({
      text: `SELECT ${DEVICE} FROM devices WHERE identity_id = $1 AND device_id = $2`,
      values: [identityId, deviceId],
    }), toDevice),
    // As registerDevice: under the identity's lock (which deleteDataset takes too), and only for a device the identity
    // still has and a dataset that is not deleted.
    subscribe: async (identityId, name, deviceId, now) => !hasNul(deviceId) && db.transaction(async (tx) => {
      const results = await tx.run([
        BEGIN,
        lockKnownIdentity(identityId),
        {
          text: `INSERT INTO subscriptions (identity_id, dataset_name, device_id, created_at)
                 SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM devices WHERE identity_id = $1 AND device_id = $3)
                   AND EXISTS (SELECT 1 FROM datasets WHERE identity_id = $1 AND name = $2 AND NOT deleted)
                 ON CONFLICT DO NOTHING`,
          values: [identityId, name, deviceId, now],
        },
        {
          text: `SELECT 1 FROM devices WHERE identity_id = $1 AND device_id = $2
                 AND EXISTS (SELECT 1 FROM datasets WHERE identity_id = $1 AND name = $3 AND NOT deleted)`,
          values: [identityId, deviceId, name],
        },
      ]);
      await tx.run([dropLockOfDeleted(identityId), COMMIT]);
      return (results[3]!.rowCount ?? 0) > 0;
    }),
    unsubscribe: async (identityId, name, deviceId) => !hasNul(deviceId) && (await db.query({
      text: 'DELETE FROM subscriptions WHERE identity_id = $1 AND dataset_name = $2 AND device_id = $3',
      values: [identityId, name, deviceId],
    })).rowCount > 0,
    listSubscribedDevices: async (identityId, name) => (await rows<DeviceDb>({
      text: `SELECT d.identity_id, d.device_id, d.platform, d.token, d.created_at FROM subscriptions s
             JOIN devices d ON d.identity_id = s.identity_id AND d.device_id = s.device_id
             WHERE s.identity_id = $1 AND s.dataset_name = $2 ORDER BY d.device_id`,
      values: [identityId, name],
    })).map(toDevice),
  };

  const tracked = Object.fromEntries(
    Object.entries(store).map(([key, fn]) => [key, track(fn as (...args: unknown[]) => Promise<unknown>)]),
  ) as typeof store;
  return {
    engine: 'postgres',
    ...tracked,
    close() {
      closing ??= (async () => {
        stopSchemaWatch();
        await Promise.allSettled([...inFlight]);
        await db.end();
      })();
      return closing;
    },
  };
}

// --- statements ----------------------------------------------------------------------------------------------

/** The advisory lock class CreateIdentityPool's count-and-insert takes (migrations.ts's scheme: class, schema). */
const POOL_CREATION_LOCK_CLASS = 0x636f7370; // 'cosp'

/**
 * Statements used by more than one method, or worth reading together. Paging uses `> after` with '' for the
 * first page: IDs, dataset names and record keys are never empty (the API validates minimum lengths). Named
 * statements are prepared once per connection (the hot paths).
 */
const q = {
  getSecret: (name: string): Statement => ({ text: 'SELECT value FROM server_secrets WHERE name = $1', values: [name] }),
  insertSecret: (name: string, value: string): Statement => ({
    text: 'INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', values: [name, value],
  }),

  /** Inserts the pool, unless `maxPools` pools or more exist already. */
  insertPool: (p: IdentityPool, maxPools = Number.MAX_SAFE_INTEGER): Statement => ({
    text: `INSERT INTO identity_pools (pool_id, name, created_at, doc) SELECT $1, $2, $3, $4::json
           WHERE (SELECT COUNT(*) FROM identity_pools) < $5`,
    values: [p.identityPoolId, p.identityPoolName, p.createdAt, poolDoc(p), maxPools],
  }),
  getPool: (id: string): Statement => ({
    name: 'cosync_get_pool', text: 'SELECT pool_id, name, created_at, doc FROM identity_pools WHERE pool_id = $1', values: [id],
  }),
  listPools: (after: string, limit: number): Statement => ({
    text: 'SELECT pool_id, name, created_at, doc FROM identity_pools WHERE pool_id > $1 ORDER BY pool_id LIMIT $2',
    values: [after, limit],
  }),
  updatePool: (p: IdentityPool): Statement => ({
    text: 'UPDATE identity_pools SET name = $2, doc = $3::json WHERE pool_id = $1',
    values: [p.identityPoolId, p.identityPoolName, poolDoc(p)],
  }),
  /**
   * The pool's row key-share locked by what must not outlive it (settings, new identities): its deletion locks it
   * FOR UPDATE first (pool-deletion.ts), so either that commits before the deletion, or it waits and finds no pool.
   */
  keySharePoolRow: (id: string): Statement => ({
    text: 'SELECT 1 FROM identity_pools WHERE pool_id = $1 FOR KEY SHARE', values: [id],
  }),
  getSettings: (poolId: string): Statement => ({
    name: 'cosync_get_settings', text: 'SELECT doc FROM pool_sync_settings WHERE pool_id = $1', values: [poolId],
  }),

  getDataset: (identityId: string, name: string): Statement => ({
    name: 'cosync_get_dataset',
    text: `SELECT ${DATASET} FROM datasets WHERE identity_id = $1 AND name = $2`,
    values: [identityId, name],
  }),

  /** Locks the identity's row if it has one: an identity without one has never written, so it has no datasets. */
  lockExistingIdentity: (identityId: string): Statement => ({
    name: 'cosync_lock_existing_identity',
    text: 'SELECT 1 FROM sync_locks WHERE identity_id = $1 FOR UPDATE',
    values: [identityId],
  }),

  /**
   * Marks a live dataset deleted, purges its records and subscriptions, and returns the row as it was (all in one
   * snapshot: run it after lockExistingIdentity, so no write of the identity can come in between).
   */
  deleteDataset: (identityId: string, name: string, now: number): Statement => ({
    text: `WITH old AS (
             SELECT ${DATASET} FROM datasets WHERE identity_id = $1 AND name = $2 AND NOT deleted
           ), marked AS (
             UPDATE datasets SET deleted = true, last_deleted_at_sync_count = sync_count, num_records = 0,
               data_storage = 0, last_modified_at = $3
             WHERE identity_id = $1 AND name = $2 AND NOT deleted
           ), purged AS (
             DELETE FROM records WHERE identity_id = $1 AND dataset_name = $2 AND EXISTS (SELECT 1 FROM old)
           ), unsubscribed AS (
             DELETE FROM subscriptions WHERE identity_id = $1 AND dataset_name = $2 AND EXISTS (SELECT 1 FROM old)
           )
           SELECT * FROM old`,
    values: [identityId, name, now],
  }),
};
