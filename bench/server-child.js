// The server under test, in its own process (forked by run.js), so it does not share an event loop with the
// load generator. argv: 'cosync' <FULL|NORMAL> <dataDir> - <workers>  |  'cosync-pg' - <dataDir> <postgres URL>
// |  'bare'. With workers > 1 it runs as `cosync serve --workers N` does (src/cluster.ts): this process is the
// primary, and the same script runs in each worker.
// Sends {port} when listening; answers {type:'stats'} with its peak RSS and CPU time used so far (every process of
// a worker pool, summed); exits on {type:'exit'}.
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { join } from 'node:path';
import { BENCH_CREDENTIALS, BENCH_WEBHOOK_SECRET } from './sign.js';
import { benchServerConfig } from './server-config.js';

const [kind, synchronous, dataDir, pgUrl, workersArg] = process.argv.slice(2);
const WORKERS = Number(workersArg ?? 1);
/** Connections per instance on PostgreSQL (COSYNC_BENCH_PG_POOL; the server's default is 10). */
const PG_POOL = Number(process.env.COSYNC_BENCH_PG_POOL ?? 10);

/** Roughly the size of an UpdateRecords response for one record. */
const BARE_BODY = JSON.stringify({
  Records: [{
    Key: 'k0', Value: 'v'.repeat(32), SyncCount: 1, LastModifiedDate: 1767225600.123,
    LastModifiedBy: BENCH_CREDENTIALS.accountId, DeviceLastModifiedDate: 1767225600.123,
  }],
});

async function startBare() {
  const server = createHttpServer((req, res) => {
    req.on('data', () => {});
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(BARE_BODY) });
      res.end(BARE_BODY);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: server.address().port, close: () => new Promise((resolve) => { server.close(resolve); server.closeAllConnections(); }) };
}

async function startCosync() {
  const { createServer } = await import('../dist/server.js');
  const { serverKeys } = await import('../dist/auth/server-keys.js');
  const storage = kind === 'cosync-pg'
    ? { engine: 'postgres', url: pgUrl, poolSize: PG_POOL, statementTimeoutMs: 5000, connectTimeoutMs: 5000 }
    // The locking `cosync serve` picks: the file is this process's own, unless workers share it.
    : { engine: 'sqlite', file: join(dataDir, 'cosync.sqlite'), synchronous, locking: WORKERS > 1 ? 'shared' : 'exclusive' };
  const config = await benchServerConfig(dataDir, storage, (defaults) => ({
    // Webhook Sync Triggers may call the bench's receiver on loopback (only pools that set one do).
    syncTriggers: { ...defaults.syncTriggers, webhook: { allowedHosts: ['127.0.0.1'], signingSecret: BENCH_WEBHOOK_SECRET } },
  }));
  // Server keys, so GetCredentialsForIdentity can issue the identity credentials some scenarios sign with.
  const keys = serverKeys([{ id: 'bench', secret: Buffer.alloc(32, 7) }]);
  const options = { config: { ...config, workers: WORKERS }, developerCredentials: BENCH_CREDENTIALS, serverKeys: keys };
  if (WORKERS > 1) return startWorkerPool(options);
  const server = await createServer(options);
  const url = await server.listen();
  return { port: Number(new URL(url).port), close: () => server.close(), pids: () => [process.pid] };
}

/** The primary of a worker pool, or (in a worker) undefined once that worker serves. */
async function startWorkerPool(options) {
  const { startWorkerPool, runWorker } = await import('../dist/cluster.js');
  const { createLogger } = await import('../dist/logger.js');
  const logger = createLogger('warn');
  if (cluster.isWorker) {
    await runWorker({ ...options, logger });
    return undefined;
  }
  const pool = await startWorkerPool(options.config, logger);
  const workerPids = () => Object.values(cluster.workers ?? {}).map((w) => w.process.pid);
  return { port: Number(new URL(pool.url).port), close: () => pool.stop(), pids: () => [process.pid, ...workerPids()] };
}

/** CPU time (user + system; /proc/<pid>/stat counts clock ticks of 10 ms) and peak RSS (VmHWM) of one process. */
function procStats(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const hwm = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return {
    cpuMicros: (Number(fields[11]) + Number(fields[12])) * 10_000, sysMicros: Number(fields[12]) * 10_000,
    peakRssKb: hwm ? Number(hwm[1]) : 0,
  };
}

/**
 * Peak RSS of this process. VmHWM, not getrusage's maxRSS: on Linux the latter keeps the high-water mark of the
 * forking parent (the load generator, which holds every pre-built request) across exec.
 */
function peakRssKb() {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]);
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS;
}

const server = kind === 'bare' ? await startBare() : await startCosync();
// A pool's worker serves, and answers its primary only.
if (server) {
  process.on('message', async (msg) => {
    if (msg.type === 'stats') process.send({ type: 'stats', ...stats(server) });
    else if (msg.type === 'exit') {
      await server.close();
      process.exit(0); // --cpu-prof writes its profile here
    }
  });
  process.send({ type: 'ready', port: server.port });
}

/** This process's CPU time and peak RSS; for a worker pool, the sums over the primary and its workers. */
function stats(server) {
  if (server.pids && server.pids().length > 1) {
    const all = server.pids().map(procStats);
    const sum = (field) => all.reduce((n, p) => n + p[field], 0);
    return { maxRssKb: sum('peakRssKb'), cpuMicros: sum('cpuMicros'), sysMicros: sum('sysMicros') };
  }
  const { userCPUTime, systemCPUTime } = process.resourceUsage();
  return { maxRssKb: peakRssKb(), cpuMicros: userCPUTime + systemCPUTime, sysMicros: systemCPUTime };
}
