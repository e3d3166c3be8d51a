// `npm run bench --workspace @cosync/client`: synchronize() of 1,000 local changes (a push) and of 1,000 remote
// changes (a pull) against a real Cosync server (this repository's dist/, SQLite on a temporary file with
// synchronous=FULL), through the official SDK over loopback HTTP. Prints the median time of each over ROUNDS
// rounds and the HTTP requests each synchronize() made. Figures, not assertions: the request count of a push is
// asserted by test/sync.test.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { CognitoIdentityClient, CreateIdentityPoolCommand } from '@aws-sdk/client-cognito-identity';
import { defaultConfig } from '../../../dist/config.js';
import { createServer } from '../../../dist/server.js';
import { serverKeys } from '../../../dist/auth/server-keys.js';
import { createLogger } from '../../../dist/logger.js';
import { CosyncClient, MemoryStore } from '../dist/index.js';
import { FileStore } from '../dist/store/file.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const RECORDS = 1000;

/** Counts HTTP requests by Cognito Sync operation (read off method and path). */
function countingHandler() {
  const inner = new NodeHttpHandler();
  const counts = { ListRecords: 0, UpdateRecords: 0, other: 0 };
  const handler = {
    handle(request, options) {
      if (request.method === 'GET' && request.path.endsWith('/records')) counts.ListRecords += 1;
      else if (request.method === 'POST' && request.path.includes('/datasets/')) counts.UpdateRecords += 1;
      else counts.other += 1;
      return inner.handle(request, options);
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs: () => ({}),
    destroy: () => inner.destroy(),
  };
  return { handler, counts, reset: () => Object.keys(counts).forEach((k) => { counts[k] = 0; }) };
}

async function startCosync(dataDir) {
  const base = defaultConfig();
  const config = {
    ...base, host: '127.0.0.1', port: 0, logLevel: 'silent',
    throttle: { identityRatePerSecond: 0, identityBurst: 1, poolRatePerSecond: 0, poolBurst: 1 },
    storage: { engine: 'sqlite', file: join(dataDir, 'cosync.sqlite'), synchronous: 'FULL' },
  };
  const developerCredentials = { accessKeyId: 'AKIACLIENTBENCH00001', secretAccessKey: randomBytes(20).toString('hex'), accountId: '123456789012' };
  const server = await createServer({
    config, developerCredentials, logger: createLogger('silent'),
    serverKeys: serverKeys([{ id: 'bench', secret: randomBytes(32) }]),
  });
  const endpoint = await server.listen();
  const identity = new CognitoIdentityClient({ endpoint, region: config.region, credentials: developerCredentials });
  const pool = await identity.send(new CreateIdentityPoolCommand({ IdentityPoolName: 'client_bench', AllowUnauthenticatedIdentities: true }));
  return { server, endpoint, region: config.region, poolId: pool.IdentityPoolId };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function round(target, i, storeFor) {
  const net = countingHandler();
  const options = { identityPoolId: target.poolId, region: target.region, endpoint: target.endpoint, clientConfig: { requestHandler: net.handler } };
  const writer = new CosyncClient({ ...options, store: storeFor('writer') });
  const identityId = await writer.identityId();
  const ds = await writer.openDataset(`bench${i}`);
  let t0 = performance.now();
  await Promise.all(Array.from({ length: RECORDS }, (_, k) => ds.put(`key-${k}`, `value-${k}-${'x'.repeat(40)}`)));
  const putMs = performance.now() - t0;
  net.reset();
  t0 = performance.now();
  await ds.synchronize();
  const pushMs = performance.now() - t0;
  const pushRequests = { ...net.counts };

  const readerStore = storeFor('reader');
  await readerStore.set(`cosync/${target.poolId}/identity`, { format: 1, identityId, authenticated: false });
  const reader = new CosyncClient({ ...options, store: readerStore });
  const copy = await reader.openDataset(`bench${i}`);
  net.reset();
  t0 = performance.now();
  const pulled = await copy.synchronize();
  const pullMs = performance.now() - t0;
  if (pulled.pulled.length !== RECORDS) throw new Error(`pulled ${pulled.pulled.length} records, expected ${RECORDS}`);
  const pullRequests = { ...net.counts };
  await writer.close();
  await reader.close();
  net.handler.destroy();
  return { putMs, pushMs, pullMs, pushRequests, pullRequests };
}

async function scenario(target, label, storeFor) {
  const rounds = [];
  for (let i = 0; i < ROUNDS; i++) rounds.push(await round(target, `${label}${i}`, storeFor));
  const last = rounds[rounds.length - 1];
  const req = (c) => `${c.ListRecords} ListRecords + ${c.UpdateRecords} UpdateRecords`;
  console.log(`\n${label} store, ${RECORDS} records, median of ${ROUNDS} rounds:`);
  console.log(`  ${RECORDS} local puts (stored)      ${median(rounds.map((r) => r.putMs)).toFixed(1).padStart(8)} ms`);
  console.log(`  synchronize(): push ${RECORDS}       ${median(rounds.map((r) => r.pushMs)).toFixed(1).padStart(8)} ms   ${req(last.pushRequests)}`);
  console.log(`  synchronize(): pull ${RECORDS}       ${median(rounds.map((r) => r.pullMs)).toFixed(1).padStart(8)} ms   ${req(last.pullRequests)}`);
}

/** Puts awaited one at a time: each is its own durable write (temporary file, fsync, rename, directory fsync). */
async function sequentialPuts(target, store) {
  const client = new CosyncClient({ identityPoolId: target.poolId, region: target.region, endpoint: target.endpoint, store });
  const ds = await client.openDataset('sequential');
  const count = 100;
  const t0 = performance.now();
  for (let k = 0; k < count; k++) await ds.put(`key-${k}`, `value-${k}`);
  const ms = performance.now() - t0;
  console.log(`\nfile store, ${count} puts awaited one by one: ${(ms / count).toFixed(2)} ms per put (one durable write each)`);
  await client.close();
}

const dataDir = mkdtempSync(join(tmpdir(), 'cosync-client-bench-'));
const target = await startCosync(dataDir);
try {
  console.log(`Cosync client benchmark: Node ${process.version}, server ${target.endpoint} (SQLite, synchronous=FULL)`);
  await scenario(target, 'memory', () => new MemoryStore());
  let n = 0;
  await scenario(target, 'file', () => new FileStore(join(dataDir, `store-${++n}`)));
  await sequentialPuts(target, new FileStore(join(dataDir, 'sequential')));
} finally {
  await target.server.close();
  rmSync(dataDir, { recursive: true, force: true });
}
