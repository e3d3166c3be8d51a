import type { Database } from './driver.js';

/**
 * Versioned schema migrations for the SQLite engine.
 *
 * Contract: this array is APPEND-ONLY. A shipped migration is never edited or removed; a schema change is a new
 * entry with the next version. Versions start at 1 and increase by exactly 1. The SQL lives in TypeScript strings
 * (not .sql files) so that `tsc` ships it inside dist/ with no asset copying.
 *
 * Conventions: snake_case columns, times are epoch milliseconds (INTEGER), booleans are INTEGER 0/1, free-form
 * parts of a row are a JSON `doc`. Tables are STRICT (types are enforced) and WITHOUT ROWID where the primary
 * key is the natural lookup key (the row is then stored in the key's B-tree: one lookup instead of two).
 * No foreign keys: the store deletes dependants explicitly (deleteIdentityPool, deleteIdentity, deleteDataset),
 * and dataset rows must be writable for identities the store has not seen (identities live in the Cognito
 * Identity part).
 */
export type { Migration } from '../migration.js';
import type { Migration } from '../migration.js';

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
      CREATE TABLE server_secrets (
        name  TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE identity_pools (
        id         TEXT PRIMARY KEY,
        name       TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        doc        TEXT NOT NULL CHECK (json_valid(doc))
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE identities (
        id               TEXT PRIMARY KEY,
        pool_id          TEXT NOT NULL,
        created_at       INTEGER NOT NULL,
        last_modified_at INTEGER NOT NULL,
        disabled         INTEGER NOT NULL CHECK (disabled IN (0, 1))
      ) STRICT, WITHOUT ROWID;
      -- listIdentities (pool, id > after ORDER BY id) and deleteIdentityPool.
      CREATE INDEX identities_by_pool ON identities (pool_id, id);

      CREATE TABLE pool_sync_settings (
        pool_id TEXT PRIMARY KEY,
        doc     TEXT NOT NULL CHECK (json_valid(doc))
      ) STRICT, WITHOUT ROWID;

      -- Rows outlive DeleteDataset (deleted = 1) so sync counts stay monotonic across delete and re-create.
      CREATE TABLE datasets (
        identity_id                TEXT NOT NULL,
        name                       TEXT NOT NULL,
        pool_id                    TEXT NOT NULL,
        sync_count                 INTEGER NOT NULL,
        deleted                    INTEGER NOT NULL CHECK (deleted IN (0, 1)),
        last_deleted_at_sync_count INTEGER,
        created_at                 INTEGER NOT NULL,
        last_modified_at           INTEGER NOT NULL,
        last_modified_by           TEXT NOT NULL,
        num_records                INTEGER NOT NULL,
        data_storage               INTEGER NOT NULL,
        merge_parent               TEXT,
        PRIMARY KEY (identity_id, name)
      ) STRICT, WITHOUT ROWID;
      -- getPoolUsage and deleteIdentityPool (pool_id never changes after insert, so writes rarely touch it).
      CREATE INDEX datasets_by_pool ON datasets (pool_id);
      -- listMergedDatasetNames; partial because almost no dataset is a merge.
      CREATE INDEX datasets_by_merge_parent ON datasets (identity_id, merge_parent) WHERE merge_parent IS NOT NULL;

      -- value NULL is a tombstone.
      CREATE TABLE records (
        identity_id             TEXT NOT NULL,
        dataset_name            TEXT NOT NULL,
        key                     TEXT NOT NULL,
        value                   TEXT,
        sync_count              INTEGER NOT NULL,
        last_modified_at        INTEGER NOT NULL,
        last_modified_by        TEXT NOT NULL,
        device_last_modified_at INTEGER NOT NULL,
        PRIMARY KEY (identity_id, dataset_name, key)
      ) STRICT, WITHOUT ROWID;
      -- listRecords: delta listing by (sync_count, key) keyset.
      CREATE INDEX records_by_sync_count ON records (identity_id, dataset_name, sync_count, key);

      CREATE TABLE consumed_sessions (
        session_id TEXT PRIMARY KEY,
        expires_at INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;
      -- pruneConsumedSessions.
      CREATE INDEX consumed_sessions_by_expiry ON consumed_sessions (expires_at);

      CREATE TABLE devices (
        device_id   TEXT PRIMARY KEY,
        identity_id TEXT NOT NULL,
        platform    TEXT NOT NULL,
        token       TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        UNIQUE (identity_id, platform, token)
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE subscriptions (
        identity_id  TEXT NOT NULL,
        dataset_name TEXT NOT NULL,
        device_id    TEXT NOT NULL,
        created_at   INTEGER NOT NULL,
        PRIMARY KEY (identity_id, dataset_name, device_id)
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    version: 2,
    name: 'identity logins, pool roles',
    sql: `
      -- Cognito Identity logins: within a pool, a (provider, subject) pair belongs to at most one identity.
      CREATE TABLE identity_logins (
        pool_id       TEXT NOT NULL,
        provider_name TEXT NOT NULL,
        subject       TEXT NOT NULL,
        identity_id   TEXT NOT NULL,
        linked_at     INTEGER NOT NULL,
        PRIMARY KEY (pool_id, provider_name, subject)
      ) STRICT, WITHOUT ROWID;
      -- listLogins (ordered by provider, subject), unlinkLogin, and moving/deleting an identity's logins.
      CREATE INDEX identity_logins_by_identity ON identity_logins (identity_id, provider_name, subject);

      -- SetIdentityPoolRoles state lives in the pool doc; pools stored before it existed get none.
      UPDATE identity_pools SET doc = json_insert(doc, '$.roles', json('{}'), '$.roleMappings', json('{}'));
    `,
  },
  {
    version: 3,
    name: 'pool principal tag attribute maps',
    sql: `
      -- SetPrincipalTagAttributeMap state lives in the pool doc; pools stored before it existed get none.
      UPDATE identity_pools SET doc = json_insert(doc, '$.principalTagMaps', json('{}'));
    `,
  },
  {
    version: 4,
    name: 'consumed sessions keyed by expiry',
    sql: `
      -- Every UpdateRecords inserts one row here. Keyed by the random session id, each insert landed on a random
      -- page of the table and of its expiry index, so every write dirtied two pages of its own for the WAL.
      -- Keyed by expiry first (the token carries it, under its MAC), the rows of one group commit share the
      -- table's last page, and pruning is a range of the key with no second index.
      CREATE TABLE consumed_sessions_v4 (
        expires_at INTEGER NOT NULL,
        session_id TEXT NOT NULL,
        PRIMARY KEY (expires_at, session_id)
      ) STRICT, WITHOUT ROWID;
      INSERT INTO consumed_sessions_v4 (expires_at, session_id)
        SELECT expires_at, session_id FROM consumed_sessions;
      DROP TABLE consumed_sessions;
      ALTER TABLE consumed_sessions_v4 RENAME TO consumed_sessions;
    `,
  },
  {
    version: 5,
    name: 'pool deletions under way',
    sql: `
      -- DeleteIdentityPool marks the pool here, in the short transaction that deletes its row, then deletes its data
      -- in small transactions (pool-deletion.ts); the mark goes once nothing of the pool is left. A write of an
      -- identity of a marked pool is refused, and a mark found when the store opens is a deletion a stopped process
      -- left unfinished: the store finishes it.
      CREATE TABLE deleted_pools (
        pool_id    TEXT PRIMARY KEY,
        deleted_at INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;
    `,
  },
];

/** The schema version this code writes and understands. */
export const LATEST_SCHEMA_VERSION = MIGRATIONS.at(-1)?.version ?? 0;

/** Thrown when the database was migrated by a newer Cosync: running older code on it could corrupt data. */
export class SchemaTooNewError extends Error {
  constructor(readonly databaseVersion: number, readonly supportedVersion: number) {
    super(
      `database schema version ${databaseVersion} is newer than this server supports (${supportedVersion}); ` +
        'upgrade Cosync or point it at another database',
    );
    this.name = 'SchemaTooNewError';
  }
}

/**
 * Brings the database up to the latest version: applies every pending migration in order, all in ONE immediate
 * transaction (so two processes starting together cannot both migrate, and a failed migration leaves nothing
 * behind), and records each in `schema_migrations`. Refuses a database newer than `migrations`.
 * Returns the versions applied.
 */
export function migrate(db: Database, migrations: readonly Migration[] = MIGRATIONS): number[] {
  checkSequence(migrations);
  const latest = migrations.at(-1)?.version ?? 0;
  const run = db.transaction((): number[] => {
    db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    INTEGER PRIMARY KEY,
      name       TEXT NOT NULL,
      applied_at INTEGER NOT NULL
    ) STRICT`);
    const row = db.prepare<[], { v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations').get();
    const current = row?.v ?? 0;
    if (current > latest) throw new SchemaTooNewError(current, latest);
    const record = db.prepare<[number, string, number]>(
      'INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)',
    );
    const applied: number[] = [];
    for (const migration of migrations) {
      if (migration.version <= current) continue;
      db.exec(migration.sql);
      record.run(migration.version, migration.name, Date.now());
      applied.push(migration.version);
    }
    return applied;
  });
  return run.immediate();
}

/** Guards the append-only rule against editing mistakes: versions 1, 2, 3, … with no gap or repeat. */
function checkSequence(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration #${i} has version ${m.version}, expected ${i + 1}`);
  });
}
