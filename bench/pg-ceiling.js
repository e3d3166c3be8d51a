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
 * The SQL the adapter sends for the commit of one 1-record UpdateRecords with developer credentials, as a pgbench
 * script: [BEGIN, lock the identity, read the write state] and [apply the plan and consume the session, COMMIT],
 * each a pipeline as the adapter pipelines them. The statements are not copied: they are built by the adapter's own
 * code (dist/storage/postgres/write-statements.js) for a batch of one, and their parameters are written inline
 * (pgbench variables cannot be arrays). Three values vary per transaction and become pgbench variables: the
 * identity (one per client: 'bench-' || :client_id), the session ('s' || :sess) and the new sync count (:next).
 * pgbench cannot take a query's result inside a pipeline (\gset), so each client counts its own writes for the
 * new count (from -D next=1): every client owns one identity, seeded at count 1, as each bench connection does,
 * so the count is the one the plan would compute from the state the script still reads (with the identity row, which
 * the adapter reads there rather than in a statement of its own).
 */
export async function updateScript(value) {
  const { applyPlans, lockIdentities, readWriteStates } = await import('../dist/storage/postgres/write-statements.js');
  const IDENT = '\u0000ident', SESSION = '\u0000session', NEXT = 987654321987;
  const command = {
    identityPoolId: 'bench-pool', identityId: IDENT, datasetName: 'bench_update', keys: ['key000'],
    sessionId: SESSION, sessionExpiresAt: 4102444800000,
  };
  const now = 1767225600000;
  const plan = {
    dataset: {
      identityId: IDENT, datasetName: 'bench_update', syncCount: NEXT, deleted: false, lastDeletedAtSyncCount: null,
      createdAt: 0, lastModifiedAt: now, lastModifiedBy: '123456789012', numRecords: 1, dataStorage: 6 + value.length,
      mergeParent: null,
    },
    records: [{ key: 'key000', value, syncCount: NEXT, lastModifiedAt: now, lastModifiedBy: '123456789012', deviceLastModifiedAt: now }],
  };
  const literal = (v) => {
    if (v === null || v === undefined) return 'NULL';
    if (v === IDENT) return `('bench-' || :client_id)`;
    if (v === SESSION) return `('s' || :sess)`;
    if (v === NEXT) return ':next';
    if (Buffer.isBuffer(v)) return `'\\x${v.toString('hex')}'::bytea`;
    if (typeof v === 'string') return `'${v.replace(/'/g, "''")}'`;
    return String(v);
  };
  const inline = ({ text, values }) => text.replace(/\$(\d+)/g, (_, n) => {
    const v = values[Number(n) - 1];
    return Array.isArray(v) ? (v.length === 0 ? `'{}'` : `ARRAY[${v.map(literal).join(', ')}]`) : literal(v);
  }).replace(/\s+/g, ' ') + ';';
  return [
    '\\set sess random(1, 1000000000000)',
    '\\set next :next + 1',
    '\\startpipeline',
    'BEGIN ISOLATION LEVEL READ COMMITTED;',
    inline(lockIdentities([command])),
    inline(readWriteStates([command])),
    '\\endpipeline',
    '\\startpipeline',
    inline(applyPlans([{ command, plan, identityFound: true }])),
    'COMMIT;',
    '\\endpipeline',
    '',
  ].join('\n');
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
