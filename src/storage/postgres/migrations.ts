import { SchemaTooNewError } from '../sqlite/migrations.js';
import { BEGIN, COMMIT, type Db } from './pool.js';

export { SchemaTooNewError };

/**
 * Versioned schema migrations for the PostgreSQL engine (its own sequence; the SQLite engine has another).
 *
 * Contract, as for SQLite: this array is APPEND-ONLY. A shipped migration is never edited or removed; a schema
 * change is a new entry with the next version (1, 2, 3, … with no gap).
 *
 * Conventions: snake_case columns; times are epoch milliseconds (bigint); free-form parts of a row are a `json`
 * doc (json, not jsonb: it keeps the document as written, key order included, and accepts "\u0000").
 * Identifiers, names and keys compare and sort byte-wise (COLLATE "C", or bytea), as in SQLite, whatever the
 * database's collation: paging by `> after` then matches the order rows are listed in.
 * Record keys and values are bytea (their UTF-8 bytes): text cannot hold U+0000, which a record may.
 *
 * Sharding (docs/postgres.md): every table's primary key leads with the identity id or the pool id, and every
 * request-path statement binds that leading column, so each can be routed to one shard. Tables keyed by identity
 * (identities, sync_locks, datasets, records, consumed_sessions, devices, subscriptions, identity_logins) can be
 * distributed and co-located by identity_id; login_owners by its login; the per-pool tables are small.
 * No foreign keys (as in SQLite): the store deletes dependants itself, and a sharded database may not enforce them.
 */
export type { Migration } from '../migration.js';
import type { Migration } from '../migration.js';

/**
 * The batched throttle function, as migration 4 created it. A database that migration 4 reached before the function
 * was added to it (an edit made after it had shipped) lacks it: migration 5 creates it again.
 */
const TAKE_TOKENS_BATCH = `      -- The throttle for many requests in one call: request i owns the entries whose owner is i (1-based), and
      -- requests are served in order, each all or nothing (cosync_take_tokens). Every bucket of the call is
      -- locked first, in name order, so concurrent calls never deadlock. Answers, per request, the first empty
      -- bucket's name or NULL when its tokens were taken.
      CREATE FUNCTION cosync_take_tokens_batch(owners int[], names text[], rates float8[], bursts float8[])
      RETURNS text[]
      LANGUAGE plpgsql AS $fn$
      DECLARE
        n int := COALESCE((SELECT MAX(o) FROM unnest(owners) AS o), 0);
        answers text[] := '{}';
      BEGIN
        INSERT INTO throttle_buckets (bucket, tokens, updated_at, full_at)
          SELECT DISTINCT ON (u.n) u.n, u.b, extract(epoch FROM clock_timestamp()), extract(epoch FROM clock_timestamp())
          FROM unnest(names, bursts) AS u(n, b) ORDER BY u.n
          ON CONFLICT (bucket) DO NOTHING;
        PERFORM 1 FROM throttle_buckets WHERE bucket = ANY(names) ORDER BY bucket FOR UPDATE;
        FOR i IN 1..n LOOP
          answers := array_append(answers, cosync_take_tokens(
            ARRAY(SELECT u.n FROM unnest(owners, names) WITH ORDINALITY AS u(o, n, k) WHERE u.o = i ORDER BY u.k),
            ARRAY(SELECT u.r FROM unnest(owners, rates) WITH ORDINALITY AS u(o, r, k) WHERE u.o = i ORDER BY u.k),
            ARRAY(SELECT u.b FROM unnest(owners, bursts) WITH ORDINALITY AS u(o, b, k) WHERE u.o = i ORDER BY u.k)));
        END LOOP;
        RETURN answers;
      END
      $fn$;
`;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
      CREATE TABLE server_secrets (
        name  text COLLATE "C" PRIMARY KEY,
        value text NOT NULL
      );

      CREATE TABLE identity_pools (
        pool_id    text COLLATE "C" PRIMARY KEY,
        name       text NOT NULL,
        created_at bigint NOT NULL,
        doc        json NOT NULL
      );

      CREATE TABLE pool_sync_settings (
        pool_id text COLLATE "C" PRIMARY KEY,
        doc     json NOT NULL
      );

      CREATE TABLE identities (
        identity_id      text COLLATE "C" PRIMARY KEY,
        pool_id          text COLLATE "C" NOT NULL,
        created_at       bigint NOT NULL,
        last_modified_at bigint NOT NULL,
        disabled         boolean NOT NULL
      );
      -- listIdentities (pool, id > after ORDER BY id) and deleteIdentityPool.
      CREATE INDEX identities_by_pool ON identities (pool_id, identity_id);

      -- One row per identity that ever wrote: writes to an identity's datasets lock it (SELECT … FOR UPDATE's
      -- portable form), so the dataset quota and sync counts hold across connections and instances.
      CREATE TABLE sync_locks (
        identity_id text COLLATE "C" PRIMARY KEY,
        pool_id     text COLLATE "C" NOT NULL
      );
      CREATE INDEX sync_locks_by_pool ON sync_locks (pool_id);

      -- Rows outlive DeleteDataset (deleted = true) so sync counts stay monotonic across delete and re-create.
      CREATE TABLE datasets (
        identity_id                text COLLATE "C" NOT NULL,
        name                       text COLLATE "C" NOT NULL,
        pool_id                    text COLLATE "C" NOT NULL,
        sync_count                 bigint NOT NULL,
        deleted                    boolean NOT NULL,
        last_deleted_at_sync_count bigint,
        created_at                 bigint NOT NULL,
        last_modified_at           bigint NOT NULL,
        last_modified_by           text NOT NULL,
        num_records                bigint NOT NULL,
        data_storage               bigint NOT NULL,
        merge_parent               text COLLATE "C",
        PRIMARY KEY (identity_id, name)
      );
      -- getPoolUsage and deleteIdentityPool (control plane).
      CREATE INDEX datasets_by_pool ON datasets (pool_id);
      -- listMergedDatasetNames; partial because almost no dataset is a merge.
      CREATE INDEX datasets_by_merge_parent ON datasets (identity_id, merge_parent) WHERE merge_parent IS NOT NULL;

      -- value NULL is a tombstone.
      CREATE TABLE records (
        identity_id             text COLLATE "C" NOT NULL,
        dataset_name            text COLLATE "C" NOT NULL,
        key                     bytea NOT NULL,
        value                   bytea,
        sync_count              bigint NOT NULL,
        last_modified_at        bigint NOT NULL,
        last_modified_by        text NOT NULL,
        device_last_modified_at bigint NOT NULL,
        PRIMARY KEY (identity_id, dataset_name, key)
      );
      -- listRecords: delta listing by (sync_count, key) keyset.
      CREATE INDEX records_by_sync_count ON records (identity_id, dataset_name, sync_count, key);

      CREATE TABLE consumed_sessions (
        identity_id text COLLATE "C" NOT NULL,
        session_id  text COLLATE "C" NOT NULL,
        expires_at  bigint NOT NULL,
        PRIMARY KEY (identity_id, session_id)
      );
      -- pruneConsumedSessions (background).
      CREATE INDEX consumed_sessions_by_expiry ON consumed_sessions (expires_at);

      CREATE TABLE devices (
        identity_id text COLLATE "C" NOT NULL,
        device_id   text COLLATE "C" NOT NULL,
        platform    text NOT NULL,
        token       text NOT NULL,
        created_at  bigint NOT NULL,
        PRIMARY KEY (identity_id, device_id),
        UNIQUE (identity_id, platform, token)
      );

      CREATE TABLE subscriptions (
        identity_id  text COLLATE "C" NOT NULL,
        dataset_name text COLLATE "C" NOT NULL,
        device_id    text COLLATE "C" NOT NULL,
        created_at   bigint NOT NULL,
        PRIMARY KEY (identity_id, dataset_name, device_id)
      );

      -- Cognito Identity logins, kept twice so that both lookups are single-key: login_owners answers "who owns
      -- this login" (GetId; within a pool a login belongs to at most one identity: its primary key), and
      -- identity_logins answers "which logins does this identity have" (listLogins). Both change together, in one
      -- transaction.
      CREATE TABLE login_owners (
        pool_id       text COLLATE "C" NOT NULL,
        provider_name text COLLATE "C" NOT NULL,
        subject       text COLLATE "C" NOT NULL,
        identity_id   text COLLATE "C" NOT NULL,
        linked_at     bigint NOT NULL,
        PRIMARY KEY (pool_id, provider_name, subject)
      );
      CREATE TABLE identity_logins (
        identity_id   text COLLATE "C" NOT NULL,
        provider_name text COLLATE "C" NOT NULL,
        subject       text COLLATE "C" NOT NULL,
        pool_id       text COLLATE "C" NOT NULL,
        linked_at     bigint NOT NULL,
        PRIMARY KEY (identity_id, provider_name, subject)
      );
    `,
  },
  {
    version: 2,
    name: 'shared throttle buckets',
    sql: `
      -- The throttle's token buckets (src/api/throttle.ts), shared by every instance. UNLOGGED: taking a token
      -- writes no WAL and waits for no fsync; after a crash the table comes back empty, i.e. every bucket full,
      -- which is harmless. Times are epoch seconds of the database's clock, so instances' clocks do not matter.
      -- full_at: when the bucket will be full again if nobody takes from it (rows past it can be deleted).
      CREATE UNLOGGED TABLE throttle_buckets (
        bucket     text COLLATE "C" PRIMARY KEY,
        tokens     double precision NOT NULL,
        updated_at double precision NOT NULL,
        full_at    double precision NOT NULL
      );
      CREATE INDEX throttle_buckets_by_full_at ON throttle_buckets (full_at);

      -- Takes one token from each named bucket, or none when one is empty; returns the first empty bucket's name
      -- (in name order), or NULL when the tokens were taken. One call, one round trip. Buckets are locked in name
      -- order, so concurrent calls never deadlock; a missing bucket starts full.
      CREATE FUNCTION cosync_take_tokens(names text[], rates float8[], bursts float8[]) RETURNS text
      LANGUAGE plpgsql AS $fn$
      DECLARE
        now_s float8 := extract(epoch FROM clock_timestamp());
        r record;
      BEGIN
        INSERT INTO throttle_buckets (bucket, tokens, updated_at, full_at)
          SELECT u.n, u.b, now_s, now_s FROM unnest(names, bursts) AS u(n, b) ORDER BY u.n
          ON CONFLICT (bucket) DO NOTHING;
        FOR r IN
          SELECT t.bucket, LEAST(u.burst, t.tokens + GREATEST(0, now_s - t.updated_at) * u.rate) AS avail
          FROM unnest(names, rates, bursts) AS u(bucket, rate, burst)
          JOIN throttle_buckets t ON t.bucket = u.bucket
          ORDER BY t.bucket
          FOR UPDATE OF t
        LOOP
          IF r.avail < 1 THEN
            RETURN r.bucket;
          END IF;
        END LOOP;
        UPDATE throttle_buckets t
          SET tokens = LEAST(u.burst, t.tokens + GREATEST(0, now_s - t.updated_at) * u.rate) - 1,
              updated_at = GREATEST(t.updated_at, now_s),
              full_at = GREATEST(t.updated_at, now_s)
                + (u.burst - LEAST(u.burst, t.tokens + GREATEST(0, now_s - t.updated_at) * u.rate) + 1) / u.rate
          FROM unnest(names, rates, bursts) AS u(bucket, rate, burst)
          WHERE t.bucket = u.bucket;
        RETURN NULL;
      END
      $fn$;
    `,
  },
  {
    version: 3,
    name: 'record keys and push tokens of any length',
    sql: `
      -- A btree entry holds at most about 2,700 bytes, and a record key may be 1,024 characters of up to 4 UTF-8
      -- bytes each. Uniqueness goes through a hash of the key (stored, so ON CONFLICT can name it); listings
      -- order by (sync_count, key) with an index on sync_count and an incremental sort of each count's rows.
      ALTER TABLE records ADD COLUMN key_hash bytea GENERATED ALWAYS AS (sha256(key)) STORED;
      ALTER TABLE records DROP CONSTRAINT records_pkey;
      ALTER TABLE records ADD PRIMARY KEY (identity_id, dataset_name, key_hash);
      DROP INDEX records_by_sync_count;
      CREATE INDEX records_by_sync_count ON records (identity_id, dataset_name, sync_count);

      -- Push tokens have no length limit in the API either: registration is unique by a digest of the token.
      ALTER TABLE devices ADD COLUMN token_md5 text COLLATE "C" GENERATED ALWAYS AS (md5(token)) STORED;
      ALTER TABLE devices DROP CONSTRAINT devices_identity_id_platform_token_key;
      ALTER TABLE devices ADD UNIQUE (identity_id, platform, token_md5);
    `,
  },
  {
    version: 4,
    name: 'deleted pools, batched throttle',
    sql: `
      -- Pools deleted, so that a write which checked its identity before DeleteIdentityPool and commits after it
      -- writes nothing (pool IDs are random and never come back). Tiny: a reference table where the database shards.
      CREATE TABLE deleted_pools (
        pool_id    text COLLATE "C" PRIMARY KEY,
        deleted_at bigint NOT NULL
      );

${TAKE_TOKENS_BATCH}    `,
  },
  {
    version: 5,
    name: 'throttle buckets updated in place',
    sql: `
      -- Every token take rewrites full_at, which had an index of its own, so no take could be a HOT update: each
      -- left a dead row version and new entries in both indexes, two per request on a busy pool's bucket. The
      -- ten-minute prune that used the index scans the table of recently used buckets instead, and free room on
      -- each page keeps a bucket's new versions beside the old. Instances of the release before keep working on it.
      DROP INDEX IF EXISTS throttle_buckets_by_full_at;
      ALTER TABLE throttle_buckets SET (fillfactor = 50);

      -- Migration 4 was edited after it had shipped, to add this function: the databases it had already reached
      -- lack it, and their every throttled call failed.
${TAKE_TOKENS_BATCH.replace('CREATE FUNCTION', 'CREATE OR REPLACE FUNCTION')}    `,
  },
];

/** The schema version this code writes and understands. */
export const LATEST_SCHEMA_VERSION = MIGRATIONS.at(-1)?.version ?? 0;

/**
 * Advisory lock keys: (class, key) pairs; the class is Cosync's, the key is the current schema's name hashed, so
 * that instances migrating one schema wait for each other while other schemas (other deployments, test runs) do not.
 */
const LOCK_CLASS = 0x636f7379; // 'cosy'

/**
 * Brings the database up to the latest version: in ONE transaction that first takes a transaction-level
 * advisory lock (pg_advisory_xact_lock), so that when several instances start at once exactly one migrates and the
 * others wait and then find nothing to do; a failed migration leaves nothing behind. Records each migration in
 * `schema_migrations`; refuses a database newer than `migrations`. Returns the versions applied.
 */
export async function migrate(db: Db, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  checkSequence(migrations);
  const latest = migrations.at(-1)?.version ?? 0;
  return db.transaction(async (tx) => {
    const [, , , current] = await tx.run([
      BEGIN,
      { text: 'SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))', values: [LOCK_CLASS] },
      // Created only when missing, not with CREATE TABLE IF NOT EXISTS: PostgreSQL checks the CREATE privilege even
      // when the table exists, and a role that may only read and write rows must still start on a migrated schema.
      {
        text: `DO $$ BEGIN
          IF current_schema() IS NULL OR to_regclass(format('%I.schema_migrations', current_schema())) IS NULL THEN
            CREATE TABLE schema_migrations (
              version    integer PRIMARY KEY,
              name       text NOT NULL,
              applied_at bigint NOT NULL
            );
          END IF;
        END $$`,
      },
      { text: 'SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations' },
    ]);
    const version = Number((current?.rows[0] as { v: number } | undefined)?.v ?? 0);
    if (version > latest) throw new SchemaTooNewError(version, latest);
    const pending = migrations.filter((m) => m.version > version);
    // A migration's SQL holds several statements: sent without parameters, it goes as one simple query.
    await tx.run([
      ...pending.flatMap((m) => [
        { text: m.sql },
        {
          text: 'INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)',
          values: [m.version, m.name, Date.now()],
        },
      ]),
      COMMIT,
    ]);
    return pending.map((m) => m.version);
  });
}

/** Guards the append-only rule against editing mistakes: versions 1, 2, 3, … with no gap or repeat. */
function checkSequence(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration #${i} has version ${m.version}, expected ${i + 1}`);
  });
}

/** How often a running instance looks for a schema migrated beyond what it knows (watchSchemaVersion). */
export const SCHEMA_CHECK_INTERVAL_MS = 60_000;

/**
 * Looks every `intervalMs` for a schema version above this release's, which an instance of a newer release, started
 * beside this one, has migrated to. This instance then runs on a schema it does not know, and its writes may fail:
 * `onAhead` is told once per newer version, so the operator learns why (docs/postgres.md, "Upgrading"). A look that
 * fails is tried again at the next tick: connection failures are reported where requests meet them. Returns a stop
 * function; the timer never keeps the process alive.
 */
export function watchSchemaVersion(
  db: Db, intervalMs: number, onAhead: (version: number, known: number) => void,
): () => void {
  let reported = LATEST_SCHEMA_VERSION;
  const look = async () => {
    const { rows } = await db.read({ text: 'SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations' });
    const version = Number((rows[0] as { v: number }).v);
    if (version > reported) {
      reported = version;
      onAhead(version, LATEST_SCHEMA_VERSION);
    }
  };
  const timer = setInterval(() => void look().catch(() => {}), intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
