// The server under test, in its own process (forked by run.js), so it does not share an event loop with the
// load generator. argv: 'cosync' <FULL|NORMAL> <dataDir>  |  'cosync-pg' - <dataDir> <postgres URL>  |  'bare'.
// Sends {port} when listening; answers {type:'stats'} with its peak RSS and CPU time used so far; exits on
// {type:'exit'}.
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { join } from 'node:path';
import { BENCH_CREDENTIALS, BENCH_WEBHOOK_SECRET, REGION } from './sign.js';

const [kind, synchronous, dataDir, pgUrl] = process.argv.slice(2);
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
  const { defaultConfig } = await import('../dist/config.js');
  const { serverKeys } = await import('../dist/auth/server-keys.js');
  const base = defaultConfig();
  const config = {
    ...base,
    host: '127.0.0.1',
    port: 0,
    region: REGION,
    dataDir,
    logLevel: 'warn',
    storage: kind === 'cosync-pg'
      ? { engine: 'postgres', url: pgUrl, poolSize: PG_POOL, statementTimeoutMs: 5000, connectTimeoutMs: 5000 }
      : { engine: 'sqlite', file: join(dataDir, 'cosync.sqlite'), synchronous },
    // Throttling off: a rate of 0 switches a bucket off.
    throttle: { identityRatePerSecond: 0, identityBurst: 1, poolRatePerSecond: 0, poolBurst: 1 },
    // Webhook Sync Triggers may call the bench's receiver on loopback (only pools that set one do).
    syncTriggers: { ...base.syncTriggers, webhook: { allowedHosts: ['127.0.0.1'], signingSecret: BENCH_WEBHOOK_SECRET } },
  };
  // Server keys, so GetCredentialsForIdentity can issue the identity credentials some scenarios sign with.
  const keys = serverKeys([{ id: 'bench', secret: Buffer.alloc(32, 7) }]);
  const server = await createServer({ config, developerCredentials: BENCH_CREDENTIALS, serverKeys: keys });
  const url = await server.listen();
  return { port: Number(new URL(url).port), close: () => server.close() };
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
process.on('message', async (msg) => {
  if (msg.type === 'stats') {
    const { userCPUTime, systemCPUTime } = process.resourceUsage();
    process.send({ type: 'stats', maxRssKb: peakRssKb(), cpuMicros: userCPUTime + systemCPUTime });
  } else if (msg.type === 'exit') {
    await server.close();
    process.exit(0); // --cpu-prof writes its profile here
  }
});
process.send({ type: 'ready', port: server.port });
