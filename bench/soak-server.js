// The server under soak, in its own process (forked by bench/soak.js). argv: <dataDir> <FULL|NORMAL>.
// Sends {type:'ready', port}; answers {type:'stats'} with its memory right after a full GC (so heap figures are what
// is retained, not garbage waiting for collection) and its CPU time; exits on {type:'exit'}.
import { join } from 'node:path';
import { BENCH_CREDENTIALS } from './sign.js';
import { benchServerConfig } from './server-config.js';

const [dataDir, synchronous = 'FULL'] = process.argv.slice(2);

const { createServer } = await import('../dist/server.js');
const { serverKeys } = await import('../dist/auth/server-keys.js');
const config = await benchServerConfig(dataDir, { engine: 'sqlite', file: join(dataDir, 'cosync.sqlite'), synchronous, locking: 'exclusive' }, () => ({
  // Identity credentials outlive any soak, so a long run needs no refresh.
  credentialsTtlSeconds: 7 * 24 * 3600,
}));
const keys = serverKeys([{ id: 'soak', secret: Buffer.alloc(32, 9) }]);
const server = await createServer({ config, developerCredentials: BENCH_CREDENTIALS, serverKeys: keys });
const url = await server.listen();

process.on('message', async (msg) => {
  if (msg.type === 'stats') {
    globalThis.gc?.();
    const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
    const { userCPUTime, systemCPUTime } = process.resourceUsage();
    process.send({ type: 'stats', rss, heapUsed, heapTotal, external, arrayBuffers, cpuMicros: userCPUTime + systemCPUTime });
  } else if (msg.type === 'exit') {
    await server.close();
    process.exit(0);
  }
});
process.send({ type: 'ready', port: Number(new URL(url).port) });
