// PostgreSQL for `npm run bench`: where the database is, a throwaway schema per scenario, and the database's own
// ceiling for the commit of a 1-record UpdateRecords, measured with pgbench running the adapter's SQL.
// See bench/README.md ("PostgreSQL").
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export const PGBENCH = process.env.COSYNC_BENCH_PGBENCH ?? '/usr/bin/pgbench';
const DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/test';

/** The database URL (COSYNC_BENCH_PG, else COSYNC_TEST_PG, else the CI default), or why the PG lines are skipped. */
export async function findPostgres() {
  const url = process.env.COSYNC_BENCH_PG || process.env.COSYNC_TEST_PG || DEFAULT_URL;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  client.on('error', () => {});
  try {
    await client.connect();
    const { rows } = await client.query('SHOW server_version');
    return { url, version: rows[0].server_version };
  } catch (error) {
    return { skip: `PostgreSQL not reachable at ${redact(url)} (${error.message}); set COSYNC_BENCH_PG` };
  } finally {
    await client.end().catch(() => {});
  }
}

const redact = (url) => url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');

/** A fresh schema; `url` selects it (search_path); `drop()` removes it with everything in it. */
export async function benchSchema(url) {
  const name = `cosync_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  admin.on('error', () => {});
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${name}`);
  await admin.query(`SET search_path = ${name}`);
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${name}`);
  return {
    name,
    url: u.toString(),
    query: (text, values) => admin.query(text, values),
    async drop() {
      try {
        await admin.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
      } finally {
        await admin.end();
      }
    },
  };
}

/**
 * The SQL the adapter sends for one 1-record UpdateRecords with developer credentials (three round trips:
 * getIdentity; [BEGIN, lock identity, read write state]; [apply plan + consume session, COMMIT]), written as a
 * pgbench script. Texts are those of src/storage/postgres/postgres-store.ts (statements `cosync_get_identity`,
 * `cosync_lock_identity`, `cosync_write_state`, `cosync_apply_plan`); pipelines stand for the adapter's pipelined
 * batches. Only the record key array is spelled inline (pgbench variables cannot be arrays). The state is read as
 * the adapter reads it, but pgbench cannot take a result inside a pipeline (\gset), so each client counts its own
 * writes for the new sync count (`next`, from -D next=1): every client owns one identity, seeded at count 1, as
 * each bench connection does, so the count is the one the plan would compute.
 */
export function updateScript(value, { identityRead = false } = {}) {
  const ident = `'bench-' || :client_id`;
  const key = `'\\x${Buffer.from('key000').toString('hex')}'::bytea`;
  const val = `'\\x${Buffer.from(value).toString('hex')}'::bytea`;
  return `\\set sess random(1, 1000000000000)
\\set next :next + 1
${identityRead ? `SELECT identity_id, pool_id, created_at, last_modified_at, disabled FROM identities WHERE identity_id = ANY(ARRAY[${ident}]);\n` : ''}\\startpipeline
BEGIN ISOLATION LEVEL READ COMMITTED;
INSERT INTO sync_locks (identity_id, pool_id) VALUES (${ident}, 'bench-pool')
  ON CONFLICT (identity_id) DO UPDATE SET pool_id = excluded.pool_id WHERE false;
SELECT d.identity_id, d.name, d.sync_count, d.deleted, d.last_deleted_at_sync_count, d.created_at,
  d.last_modified_at, d.last_modified_by, d.num_records, d.data_storage, d.merge_parent,
  (SELECT COUNT(*) FROM datasets WHERE identity_id = ${ident} AND NOT deleted) AS live_count,
  EXISTS (SELECT 1 FROM consumed_sessions WHERE identity_id = ${ident} AND session_id = 's' || :sess) AS consumed,
  r.rec_keys, r.rec_counts, r.rec_bytes, r.rec_live
FROM (SELECT 1) AS one
LEFT JOIN datasets d ON d.identity_id = ${ident} AND d.name = 'bench_update'
CROSS JOIN LATERAL (
  SELECT array_agg(key) AS rec_keys, array_agg(sync_count) AS rec_counts,
    array_agg(CASE WHEN value IS NULL THEN 0 ELSE octet_length(key) + octet_length(value) END) AS rec_bytes,
    array_agg(value IS NOT NULL) AS rec_live
  FROM records WHERE identity_id = ${ident} AND dataset_name = 'bench_update'
    AND key_hash = ANY(ARRAY(SELECT sha256(k) FROM unnest(ARRAY[${key}]) AS k)) AND key = ANY(ARRAY[${key}])
) AS r;
\\endpipeline
\\startpipeline
WITH gone AS (
  SELECT EXISTS (SELECT 1 FROM deleted_pools WHERE pool_id = 'bench-pool') AS pool
), ds AS (
  INSERT INTO datasets (identity_id, name, pool_id, sync_count, deleted, last_deleted_at_sync_count,
    created_at, last_modified_at, last_modified_by, num_records, data_storage, merge_parent)
  SELECT ${ident}, 'bench_update', 'bench-pool', :next::bigint, false, NULL::bigint, 0::bigint,
    (extract(epoch FROM now()) * 1000)::bigint, '123456789012'::text, 1::bigint, ${6 + value.length}::bigint, NULL::text
  FROM gone WHERE true AND NOT gone.pool
  ON CONFLICT (identity_id, name) DO UPDATE SET sync_count = excluded.sync_count,
    deleted = excluded.deleted, last_deleted_at_sync_count = excluded.last_deleted_at_sync_count,
    created_at = excluded.created_at, last_modified_at = excluded.last_modified_at,
    last_modified_by = excluded.last_modified_by, num_records = excluded.num_records,
    data_storage = excluded.data_storage, merge_parent = excluded.merge_parent
), recs AS (
  INSERT INTO records (identity_id, dataset_name, key, value, sync_count, last_modified_at,
    last_modified_by, device_last_modified_at)
  SELECT ${ident}, 'bench_update', r.key, r.value, r.sync_count, r.last_modified_at, r.last_modified_by,
    r.device_last_modified_at
  FROM unnest(ARRAY[${key}], ARRAY[${val}], ARRAY[:next::bigint], ARRAY[(extract(epoch FROM now()) * 1000)::bigint],
    ARRAY['123456789012'::text], ARRAY[(extract(epoch FROM now()) * 1000)::bigint])
    AS r(key, value, sync_count, last_modified_at, last_modified_by, device_last_modified_at), gone
  WHERE NOT gone.pool
  ON CONFLICT (identity_id, dataset_name, key_hash) DO UPDATE SET value = excluded.value,
    sync_count = excluded.sync_count, last_modified_at = excluded.last_modified_at,
    last_modified_by = excluded.last_modified_by, device_last_modified_at = excluded.device_last_modified_at
), unlocked AS (
  DELETE FROM sync_locks WHERE identity_id = ${ident} AND (SELECT pool FROM gone)
)
INSERT INTO consumed_sessions (identity_id, session_id, expires_at)
SELECT ${ident}, 's' || :sess, (extract(epoch FROM now()) * 1000)::bigint + 3600000 FROM gone
WHERE NOT gone.pool
ON CONFLICT DO NOTHING;
COMMIT;
\\endpipeline
`;
}

/** One identity and one 1-record dataset (count 1) per pgbench client, in a schema Cosync has migrated. */
export async function seedForPgbench(schema, clients, value) {
  await schema.query(`INSERT INTO identities (identity_id, pool_id, created_at, last_modified_at, disabled)
    SELECT 'bench-' || c, 'bench-pool', 0, 0, false FROM generate_series(0, $1 - 1) AS c`, [clients]);
  await schema.query(`INSERT INTO datasets (identity_id, name, pool_id, sync_count, deleted, created_at, last_modified_at,
      last_modified_by, num_records, data_storage)
    SELECT 'bench-' || c, 'bench_update', 'bench-pool', 1, false, 0, 0, '123456789012', 1, $2 FROM generate_series(0, $1 - 1) AS c`,
  [clients, 6 + value.length]);
  await schema.query(`INSERT INTO records (identity_id, dataset_name, key, value, sync_count, last_modified_at,
      last_modified_by, device_last_modified_at)
    SELECT 'bench-' || c, 'bench_update', convert_to('key000', 'UTF8'), convert_to($2, 'UTF8'), 1, 0, '123456789012', 0
    FROM generate_series(0, $1 - 1) AS c`, [clients, value]);
}

/**
 * Runs pgbench with the script for `seconds` on `clients` connections (prepared statements, 2 threads) and
 * answers its transactions per second, latency and the final sync counts' sum (every transaction is one write).
 */
export async function runPgbench({ schema, clients, seconds, script }) {
  if (!existsSync(PGBENCH)) throw new Error(`pgbench not found at ${PGBENCH} (set COSYNC_BENCH_PGBENCH)`);
  const dir = mkdtempSync(join(tmpdir(), 'cosync-pgbench-'));
  try {
    const file = join(dir, 'update.sql');
    writeFileSync(file, script);
    const u = new URL(schema.url);
    const env = {
      ...process.env,
      PGHOST: u.hostname, PGPORT: u.port || '5432', PGUSER: decodeURIComponent(u.username || 'postgres'),
      PGDATABASE: u.pathname.slice(1) || 'postgres', PGOPTIONS: `-c search_path=${schema.name}`,
      ...(u.password ? { PGPASSWORD: decodeURIComponent(u.password) } : {}),
    };
    const args = ['-n', '-M', 'prepared', '-D', 'next=1', '-c', String(clients), '-j', '2', '-T', String(seconds), '-f', file];
    const output = await new Promise((resolve, reject) => {
      const child = spawn(PGBENCH, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d) => { out += d; });
      child.stderr.on('data', (d) => { out += d; });
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`pgbench exited ${code}:\n${out}`))));
    });
    const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(output)?.[1]);
    const latency = Number(/latency average = ([\d.]+) ms/.exec(output)?.[1]);
    const failed = Number(/number of failed transactions: (\d+)/.exec(output)?.[1] ?? 0);
    const processed = Number(/number of transactions actually processed: (\d+)/.exec(output)?.[1]);
    if (!Number.isFinite(tps)) throw new Error(`could not read pgbench's output:\n${output}`);
    return { tps, latency, failed, processed, output };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
