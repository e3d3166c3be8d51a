// `npm run bench`: Cosync against a bare node:http ceiling. Each server runs in its own child process (one at a
// time, a fresh one per scenario); the load generator (bench/http-client.js) runs here. See bench/README.md.
import { fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openConnections, runLoad, summarise } from './http-client.js';
import { bareScenario, identityUpdateScenario, listScenario, updateScenario } from './scenarios.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
/** Target length of the timed window; the per-connection request count is derived from the last warm-up round. */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
/** Warm-up rounds (requests per connection), untimed; the last one calibrates the timed window. */
const WARMUP = [20, 40, 80];
const PROFILE = process.env.BENCH_PROF === '1'; // --cpu-prof on each server child, into bench/results/prof/
const ONLY = process.env.BENCH_ONLY; // run only scenarios whose name contains this (the ceiling always runs)

const CEILING = 'bare node:http (ceiling)';
const SCENARIOS = [
  updateScenario(1, 'FULL'),
  updateScenario(10, 'FULL'),
  listScenario(),
  updateScenario(1, 'NORMAL'),
  identityUpdateScenario({ trigger: false }),
  identityUpdateScenario({ trigger: true }),
].filter((s) => !ONLY || s.name.includes(ONLY));

function startChild(server, dataDir, script = 'server-child.js') {
  const args = server.kind === 'bare' ? ['bare'] : server.kind === 'cosync' ? ['cosync', server.synchronous, dataDir] : [];
  const profile = PROFILE && script === 'server-child.js';
  const execArgv = ['--no-warnings', ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${join(HERE, 'results', 'prof')}`] : [])];
  const child = fork(join(HERE, script), args, { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = (type) => new Promise((resolve, reject) => {
    const onExit = (code) => reject(new Error(`server child exited with ${code}`));
    const onMessage = (msg) => {
      if (msg.type !== type) return;
      child.off('exit', onExit);
      child.off('message', onMessage);
      resolve(msg);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
  return {
    ready: next('ready'),
    stats() {
      child.send({ type: 'stats' });
      return next('stats');
    },
    stop: () => new Promise((resolve) => {
      child.once('exit', resolve);
      child.send({ type: 'exit' });
    }),
  };
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
      if (warm.failures > 0) return { ...warm, cpuPerRequestUs: NaN, peakRssMb: NaN };
    }
    const perConnection = Math.max(50, Math.min(5000, Math.ceil((warm.rps * SECONDS) / CONNECTIONS)));
    const requests = await scenario.requests(state, sent, perConnection);
    const before = await child.stats();
    const result = summarise(await runLoad(conns, requests));
    const after = await child.stats();
    sent += perConnection;
    if (result.failures === 0 && scenario.check) await scenario.check(state, sent);
    for (const conn of conns) conn.close();
    // Server CPU (user + system) per request in the timed window: steadier than req/s on a shared machine.
    const cpuPerRequestUs = (after.cpuMicros - before.cpuMicros) / result.requests;
    return { ...result, cpuPerRequestUs, peakRssMb: after.maxRssKb / 1024 };
  } finally {
    await child.stop();
    await receiver?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function printTable(rows, ceiling) {
  const header = ['scenario', 'requests', 'req/s', 'p50 ms', 'p99 ms', '% ceiling', 'failures', 'server CPU/req', 'server peak RSS'];
  const lines = rows.map(({ name, r }) => [
    name, String(r.requests), r.rps.toFixed(0), r.p50.toFixed(2), r.p99.toFixed(2),
    `${((100 * r.rps) / ceiling).toFixed(1)}%`, String(r.failures), `${r.cpuPerRequestUs.toFixed(0)} µs`,
    `${r.peakRssMb.toFixed(0)} MB`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(`\n${fmt(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const l of lines) console.log(fmt(l));
}

async function measure(name, scenario, rows) {
  process.stdout.write(`running: ${name} ... `);
  const r = await runScenario(scenario);
  console.log(`${r.rps.toFixed(0)} req/s${r.failures ? `, ${r.failures} FAILURES (e.g. ${r.sample})` : ''}`);
  rows.push({ name, r });
  return r;
}

async function main() {
  console.log(`cosync bench: ${CONNECTIONS} connections, ~${SECONDS} s timed window per scenario, one server process at a time`);
  const rows = [];
  // The ceiling is measured before and after the Cosync scenarios; their mean is the 100% mark, and a large gap
  // between the two says the machine's load changed during the run.
  const first = await measure(`${CEILING}, before`, bareScenario(), rows);
  for (const scenario of SCENARIOS) await measure(scenario.name, scenario, rows);
  const last = await measure(`${CEILING}, after`, bareScenario(), rows);
  const ceiling = (first.rps + last.rps) / 2;
  printTable(rows, ceiling);
  const drift = Math.abs(first.rps - last.rps) / ceiling;
  console.log(`\nceiling = mean of the two bare runs = ${ceiling.toFixed(0)} req/s` +
    (drift > 0.15 ? ` (WARNING: they differ by ${(100 * drift).toFixed(0)}%; the machine's load changed, rerun)` : ''));
  mkdirSync(join(HERE, 'results'), { recursive: true });
  writeFileSync(join(HERE, 'results', 'latest.json'), JSON.stringify({ date: new Date().toISOString(), ceiling, rows }, null, 2));
  const failed = rows.filter(({ r }) => r.failures > 0);
  if (failed.length > 0) {
    console.log(`INVALID RUN: ${failed.map(({ name }) => name).join('; ')} had non-200 responses`);
    process.exitCode = 1;
  }
}

await main();
