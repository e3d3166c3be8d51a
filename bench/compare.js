// `npm run bench:compare -- <update|list> <checkout A> <checkout B>`: a paired comparison of two builds of the
// server, for changes too small to tell apart in two `npm run bench` runs on a noisy host. Both servers run at once
// (each checkout's own bench/server-child.js and dist/, built beforehand), are set up and warmed alike, and are then
// driven in turns by one load generator: short windows, A then B, then B then A, and so on. Each round's two
// windows see about the same host, so the ratio B/A of each round is steadier than either figure.
// See bench/README.md ("Comparing two builds").
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { forkChild } from './child.js';
import { openConnections, runLoad, summarise } from './http-client.js';
import { listScenario, updateScenario, withWorkers } from './scenarios.js';

const [kind, dirA, dirB] = process.argv.slice(2);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 1);
const ROUNDS = Number(process.env.COMPARE_ROUNDS ?? 8);
/** Requests per connection in each window. */
const PER_WINDOW = Number(process.env.COMPARE_REQUESTS ?? 150);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
/** Generator on CPU 0 and a one-process server on CPU 1 (BENCH_PIN=1); see the README for why. */
const PIN = process.env.BENCH_PIN === '1';

if (!['update', 'list'].includes(kind) || !dirA || !dirB) {
  console.error('usage: npm run bench:compare -- <update|list> <checkout A> <checkout B>');
  process.exit(2);
}
const base = kind === 'list' ? listScenario() : updateScenario(1, 'FULL');
const scenario = WORKERS > 1 ? withWorkers(base, WORKERS) : base;

async function startServer(name, dir) {
  const dataDir = mkdtempSync(join(tmpdir(), 'cosync-compare-'));
  const cpus = PIN ? (WORKERS > 1 ? '0-1' : '1') : undefined;
  const child = forkChild(join(resolve(dir), 'bench', 'server-child.js'),
    ['cosync', 'FULL', dataDir, '-', String(WORKERS)], ['--no-warnings'], { cpus });
  const { port } = await child.ready;
  const conns = await openConnections(port, CONNECTIONS);
  const state = await scenario.setup(port, conns);
  const server = { name, child, dataDir, conns, state, sent: 0, rps: [], cpu: [] };
  for (const n of [20, 40, 80]) await timedWindow(server, n);
  return server;
}

/** One timed window: requests/s and the server's CPU per request. */
async function timedWindow(server, perConnection) {
  const requests = await scenario.requests(server.state, server.sent, perConnection);
  const before = await server.child.stats();
  const run = summarise(await runLoad(server.conns, requests));
  const after = await server.child.stats();
  server.sent += perConnection;
  if (run.failures > 0) throw new Error(`${server.name}: ${run.failures} failures, e.g. ${run.sample}`);
  return { rps: run.rps, cpu: (after.cpuMicros - before.cpuMicros) / run.requests };
}

const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];

async function main() {
  if (PIN) execFileSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
  const a = await startServer('A', dirA);
  const b = await startServer('B', dirB);
  const ratios = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const server of round % 2 === 0 ? [a, b] : [b, a]) {
        const { rps, cpu } = await timedWindow(server, PER_WINDOW);
        server.rps.push(rps);
        server.cpu.push(cpu);
      }
      ratios.push(b.rps[round] / a.rps[round]);
      console.log(`round ${round + 1}: A ${a.rps[round].toFixed(0)} req/s, ${a.cpu[round].toFixed(0)} µs/req · ` +
        `B ${b.rps[round].toFixed(0)} req/s, ${b.cpu[round].toFixed(0)} µs/req`);
    }
  } finally {
    for (const server of [a, b]) {
      for (const conn of server.conns) conn.close();
      await server.child.stop();
      rmSync(server.dataDir, { recursive: true, force: true });
    }
  }
  console.log(`\n${scenario.name}: median A ${median(a.rps).toFixed(0)} req/s at ${median(a.cpu).toFixed(1)} µs/req, ` +
    `B ${median(b.rps).toFixed(0)} req/s at ${median(b.cpu).toFixed(1)} µs/req`);
  console.log(`B/A per round, sorted: ${ratios.sort((x, y) => x - y).map((r) => r.toFixed(2)).join(' ')}; median ${median(ratios).toFixed(3)}`);
}

await main();
