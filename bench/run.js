// `npm run bench`: Cosync against a bare node:http ceiling. Each server runs in its own child process (one at a
// time, a fresh one per scenario); the load generator (bench/http-client.js) runs here. See bench/README.md.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { forkChild } from './child.js';
import { openConnections, runLoad, summarise } from './http-client.js';
import { benchSchema, findPostgres, runPgbench, seedForPgbench, updateScript } from './pg-ceiling.js';
import { VALUE, bareScenario, identityUpdateScenario, listScenario, onPostgres, updateScenario, withWorkers } from './scenarios.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
/** Target length of the timed window; the per-connection request count is derived from the last warm-up round. */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
/** Warm-up rounds (requests per connection), untimed; the last one calibrates the timed window. */
const WARMUP = [20, 40, 80];
/** A file that exists only while a timed window runs, so that a profiler can attach for just the window. */
const WINDOW_FILE = process.env.BENCH_WINDOW_FILE;
const PROFILE = process.env.BENCH_PROF === '1'; // --cpu-prof on each server child, into bench/results/prof/
const ONLY = process.env.BENCH_ONLY; // run only scenarios whose name contains this (the ceiling always runs)

const CEILING = 'bare node:http (ceiling)';
const CORES = Math.max(2, availableParallelism());
const SCENARIOS = [
  updateScenario(1, 'FULL'),
  updateScenario(10, 'FULL'),
  listScenario(),
  updateScenario(1, 'NORMAL'),
  identityUpdateScenario({ trigger: false }),
  identityUpdateScenario({ trigger: true }),
  // One server process per core (`cosync serve --workers auto`).
  withWorkers(updateScenario(1, 'FULL'), CORES),
  withWorkers(listScenario(), CORES),
].filter((s) => !ONLY || s.name.includes(ONLY));
const PG_SCENARIOS = [
  onPostgres(updateScenario(1, 'FULL'), 'PostgreSQL: UpdateRecords 1 record (durable)'),
  onPostgres(listScenario(), 'PostgreSQL: ListRecords delta 1 of 1,000 records'),
].filter((s) => !ONLY || s.name.includes(ONLY));
const PG_CEILING = 'PostgreSQL: pgbench, the write transaction (ceiling)';

function startChild(server, dataDir, script = 'server-child.js') {
  const args = server.kind === 'bare' ? ['bare']
    : server.kind === 'cosync' ? ['cosync', server.synchronous, dataDir, '-', String(server.workers ?? 1)]
      : server.kind === 'cosync-pg' ? ['cosync-pg', '-', dataDir, server.url] : [];
  const profile = PROFILE && script === 'server-child.js';
  const execArgv = ['--no-warnings', ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${join(HERE, 'results', 'prof')}`] : [])];
  return forkChild(join(HERE, script), args, execArgv);
}

/** One scenario in a fresh server process: setup, warm-up rounds, then the calibrated timed window. */
async function runScenario(scenario) {
  const dataDir = mkdtempSync(join(tmpdir(), 'cosync-bench-'));
  // The no-op webhook Sync Trigger runs in a third process, so it loads neither the server nor the generator.
  const receiver = scenario.webhook ? startChild({ kind: 'webhook' }, dataDir, 'webhook-child.js') : undefined;
  const child = startChild(scenario.server, dataDir);
  try {
    const { port } = await child.ready;
    const webhookPort = receiver ? (await receiver.ready).port : undefined;
    const conns = await openConnections(port, CONNECTIONS);
    const state = await scenario.setup(port, conns, { webhookPort });
    let sent = 0;
    let warm;
    for (const n of WARMUP) {
      warm = summarise(await runLoad(conns, await scenario.requests(state, sent, n)));
      sent += n;
      if (warm.failures > 0) return { ...warm, cpuPerRequestUs: NaN, sysPerRequestUs: NaN, peakRssMb: NaN };
    }
    const perConnection = Math.max(50, Math.min(5000, Math.ceil((warm.rps * SECONDS) / CONNECTIONS)));
    const requests = await scenario.requests(state, sent, perConnection);
    const before = await child.stats();
    if (WINDOW_FILE) writeFileSync(WINDOW_FILE, `${scenario.name ?? ''}\n`);
    const result = summarise(await runLoad(conns, requests));
    if (WINDOW_FILE) rmSync(WINDOW_FILE, { force: true });
    const after = await child.stats();
    sent += perConnection;
    if (result.failures === 0 && scenario.check) await scenario.check(state, sent);
    for (const conn of conns) conn.close();
    // Server CPU (user + system) per request in the timed window: steadier than req/s on a shared machine. The
    // system part (the kernel's work for the server's syscalls: sockets, WAL writes, fsync) is shown apart.
    const cpuPerRequestUs = (after.cpuMicros - before.cpuMicros) / result.requests;
    const sysPerRequestUs = (after.sysMicros - before.sysMicros) / result.requests;
    return { ...result, cpuPerRequestUs, sysPerRequestUs, peakRssMb: after.maxRssKb / 1024 };
  } finally {
    await child.stop();
    await receiver?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const fixed = (x, digits) => (Number.isFinite(x) ? x.toFixed(digits) : '–');

/** Each row's % of the ceiling is of `row.ceiling` (the bare runs beside it), else of `ceiling`. */
function printTable(rows, ceiling) {
  const header = ['scenario', 'requests', 'req/s', 'p50 ms', 'p99 ms', '% ceiling', 'failures', 'server CPU/req (system)', 'server peak RSS'];
  const lines = rows.map(({ name, r, ceiling: own }) => [
    name, String(r.requests), r.rps.toFixed(0), fixed(r.p50, 2), fixed(r.p99, 2),
    `${((100 * r.rps) / (own ?? ceiling)).toFixed(1)}%`, String(r.failures), `${fixed(r.cpuPerRequestUs, 0)} µs (${fixed(r.sysPerRequestUs, 0)})`,
    `${fixed(r.peakRssMb, 0)} MB`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(`\n${fmt(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const l of lines) console.log(fmt(l));
}

/** A PostgreSQL scenario in a schema of its own, dropped afterwards. */
async function runPgScenario(scenario, pgUrl) {
  const schema = await benchSchema(pgUrl);
  try {
    return await runScenario({ ...scenario, server: { ...scenario.server, url: schema.url } });
  } finally {
    await schema.drop();
  }
}

/**
 * PostgreSQL's own ceiling for the 1-record UpdateRecords: pgbench runs the adapter's write transaction (bench/
 * pg-ceiling.js) on as many connections as the load generator opens, for as long, in a schema Cosync migrated.
 * A 2 s warm-up first, then the data is reset; afterwards every dataset's count must account for every transaction.
 */
async function runPgbenchCeiling(pgUrl) {
  const schema = await benchSchema(pgUrl);
  try {
    const { openPostgresStore } = await import('../dist/storage/postgres/postgres-store.js');
    await (await openPostgresStore({ url: schema.url, poolSize: 1, statementTimeoutMs: 0, connectTimeoutMs: 5000 })).close();
    const script = await updateScript(VALUE);
    const reset = async () => {
      await schema.query('TRUNCATE identities, datasets, records, consumed_sessions, sync_locks');
      await seedForPgbench(schema, CONNECTIONS, VALUE);
    };
    await reset();
    await runPgbench({ schema, clients: CONNECTIONS, seconds: 2, script });
    await reset();
    const r = await runPgbench({ schema, clients: CONNECTIONS, seconds: SECONDS, script });
    const { rows } = await schema.query('SELECT SUM(sync_count)::bigint AS n FROM datasets');
    const failures = r.failed + Math.abs(Number(rows[0].n) - (CONNECTIONS + r.processed));
    return {
      requests: r.processed, rps: r.tps, p50: r.latency, p99: NaN, failures, cpuPerRequestUs: NaN, sysPerRequestUs: NaN, peakRssMb: NaN,
      sample: failures ? `dataset counts sum to ${rows[0].n}, expected ${CONNECTIONS + r.processed}` : undefined,
    };
  } finally {
    await schema.drop();
  }
}

async function measure(name, scenario, rows, run = runScenario) {
  process.stdout.write(`running: ${name} ... `);
  const r = await run(scenario);
  console.log(`${r.rps.toFixed(0)} req/s${r.failures ? `, ${r.failures} FAILURES (e.g. ${r.sample})` : ''}`);
  rows.push({ name, r });
  return r;
}

async function main() {
  console.log(`cosync bench: ${CONNECTIONS} connections, ~${SECONDS} s timed window per scenario, one server process at a time`);
  const rows = [];
  // The bare ceiling runs before the first scenario and after each one. A scenario's 100% mark is the mean of the
  // two runs beside it, measured within seconds of it: on a shared host whose speed drifts during the run, the
  // scenario and its ceiling then see about the same machine. Two neighbours far apart say the load changed there.
  const bareRuns = [await measure(`${CEILING} 1`, bareScenario(), rows)];
  const drifted = [];
  for (const scenario of SCENARIOS) {
    const row = rows.length;
    await measure(scenario.name, scenario, rows);
    const before = bareRuns[bareRuns.length - 1];
    const after = await measure(`${CEILING} ${bareRuns.length + 1}`, bareScenario(), rows);
    bareRuns.push(after);
    rows[row].ceiling = (before.rps + after.rps) / 2;
    const drift = Math.abs(before.rps - after.rps) / rows[row].ceiling;
    if (drift > 0.15) drifted.push(`${scenario.name} (${(100 * drift).toFixed(0)}%)`);
  }
  const ceiling = bareRuns.reduce((sum, r) => sum + r.rps, 0) / bareRuns.length;
  const pgSummary = await measurePostgres(rows);
  printTable(rows, ceiling);
  if (pgSummary) console.log(`\n${pgSummary}`);
  const rates = bareRuns.map((r) => r.rps);
  console.log(`\nceiling: each scenario's % is of the mean of the two bare runs beside it; the ${bareRuns.length} bare ` +
    `runs gave ${Math.min(...rates).toFixed(0)}–${Math.max(...rates).toFixed(0)} req/s (mean ${ceiling.toFixed(0)}, ` +
    'the 100% mark of the bare and PostgreSQL lines)');
  if (drifted.length > 0) {
    console.log(`WARNING: the bare runs beside these differ by more than 15% (the machine's load changed; rerun): ${drifted.join('; ')}`);
  }
  mkdirSync(join(HERE, 'results'), { recursive: true });
  writeFileSync(join(HERE, 'results', 'latest.json'), JSON.stringify({ date: new Date().toISOString(), ceiling, rows }, null, 2));
  const failed = rows.filter(({ r }) => r.failures > 0);
  if (failed.length > 0) {
    console.log(`INVALID RUN: ${failed.map(({ name }) => name).join('; ')} had non-200 responses`);
    process.exitCode = 1;
  }
}

/** The PostgreSQL lines: Cosync on PostgreSQL, then pgbench's ceiling for the same SQL; a summary line or why not. */
async function measurePostgres(rows) {
  if (PG_SCENARIOS.length === 0) return undefined;
  const pg = await findPostgres();
  if (pg.skip) {
    console.log(`PostgreSQL lines SKIPPED: ${pg.skip}`);
    return `PostgreSQL lines skipped: ${pg.skip}`;
  }
  console.log(`PostgreSQL ${pg.version}: fresh schema per scenario; Cosync pool size ${process.env.COSYNC_BENCH_PG_POOL ?? 10}`);
  // pgbench runs before and after the Cosync lines, as the bare ceiling does: their mean is the 100% mark.
  const before = await measure(`${PG_CEILING}, before`, undefined, rows, () => runPgbenchCeiling(pg.url));
  const results = new Map();
  for (const scenario of PG_SCENARIOS) {
    results.set(scenario.name, await measure(scenario.name, scenario, rows, (s) => runPgScenario(s, pg.url)));
  }
  const after = await measure(`${PG_CEILING}, after`, undefined, rows, () => runPgbenchCeiling(pg.url));
  const update = [...results].find(([name]) => name.includes('UpdateRecords'))?.[1];
  if (!update) return undefined;
  const ceiling = (before.rps + after.rps) / 2;
  const drift = Math.abs(before.rps - after.rps) / ceiling;
  return `PostgreSQL: Cosync UpdateRecords 1 record ${update.rps.toFixed(0)} req/s = ${((100 * update.rps) / ceiling).toFixed(1)}% ` +
    `of pgbench's ${ceiling.toFixed(0)} tps (mean of the two runs) for the same write transaction on ${CONNECTIONS} connections ` +
    '(target: at least 50%)' + (drift > 0.15 ? ` (WARNING: the pgbench runs differ by ${(100 * drift).toFixed(0)}%; rerun)` : '');
}

await main();
