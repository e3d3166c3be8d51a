// `npm run soak`: a bounded soak of Cosync at high concurrency (bench/README.md, "Soak"). A server child
// (bench/soak-server.js, SQLite) is driven by simulated devices, each on its own keep-alive connection, looping like
// a syncing app: ListRecords (session token) → UpdateRecords with it → now and then DescribeDataset. Two devices
// share each identity's dataset, so their writes race and some answer 409 ResourceConflictException, as in the field;
// half the identities sign with their own identity credentials, half with the developer key.
// Prints error-free throughput, p50/p99 latency per operation, and server RSS and heap every few seconds with the
// growth between the first warm sample and the last. Figures are printed, not asserted; the exit code is 1 only
// when a request got an answer other than 200 or an expected conflict.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { forkChild } from './child.js';
import { openConnections } from './http-client.js';
import { buildRequest, encodeLabel, identityRequest } from './sign.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const SECONDS = Number(process.env.SOAK_SECONDS ?? 60);
const CONNECTIONS = Number(process.env.SOAK_CONNECTIONS ?? 64);
const SAMPLE_SECONDS = Number(process.env.SOAK_SAMPLE_SECONDS ?? 5);
/** Samples before this are warm-up; growth is measured from the first sample at or after it. */
const WARMUP_SECONDS = Number(process.env.SOAK_WARMUP_SECONDS ?? Math.min(15, SECONDS / 4));
const SYNCHRONOUS = process.env.SOAK_SYNCHRONOUS ?? 'FULL';
const KEYS_PER_DATASET = 10;
const VALUE = 'v'.repeat(64);

function startServer(dataDir) {
  return forkChild(join(HERE, 'soak-server.js'), [dataDir, SYNCHRONOUS], ['--no-warnings', '--expose-gc']);
}

async function call(conn, bytes, what) {
  const { status, body } = await conn.request(await bytes);
  if (status !== 200) throw new Error(`${what} failed during setup: ${status} ${body.toString('utf8').slice(0, 300)}`);
  return JSON.parse(body.toString('utf8'));
}

/** One identity per two devices, in one pool; even-numbered identities get identity credentials. */
async function setup(port, conns) {
  const { IdentityPoolId: poolId } = await call(conns[0], identityRequest(port, 'CreateIdentityPool', {
    IdentityPoolName: 'soak_pool', AllowUnauthenticatedIdentities: true,
  }), 'CreateIdentityPool');
  const identities = await Promise.all(Array.from({ length: Math.ceil(conns.length / 2) }, async (_, i) => {
    const conn = conns[i];
    const { IdentityId: identityId } = await call(conn, identityRequest(port, 'GetId', { IdentityPoolId: poolId }), 'GetId');
    if (i % 2 === 1) return { poolId, identityId, dataset: 'soak', credentials: undefined };
    const { Credentials: c } = await call(conn, identityRequest(port, 'GetCredentialsForIdentity', { IdentityId: identityId }),
      'GetCredentialsForIdentity');
    return { poolId, identityId, dataset: 'soak', credentials: { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretKey, sessionToken: c.SessionToken } };
  }));
  return conns.map((conn, d) => ({ conn, target: identities[Math.floor(d / 2)], syncCounts: new Map(), lastSyncCount: 0, loops: 0 }));
}

const datasetPath = ({ poolId, identityId, dataset }) =>
  `/identitypools/${encodeLabel(poolId)}/identities/${encodeLabel(identityId)}/datasets/${encodeLabel(dataset)}`;

const listRecords = (port, { target }, lastSyncCount) => buildRequest({
  port, method: 'GET', path: `${datasetPath(target)}/records`, query: { lastSyncCount }, service: 'cognito-sync', credentials: target.credentials,
});
const describeDataset = (port, { target }) => buildRequest({
  port, method: 'GET', path: datasetPath(target), service: 'cognito-sync', credentials: target.credentials,
});
const updateRecords = (port, { target }, key, syncCount, token) => buildRequest({
  port, method: 'POST', path: datasetPath(target), headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ DeviceId: 'soak-device', SyncSessionToken: token, RecordPatches: [{ Op: 'replace', Key: key, Value: VALUE, SyncCount: syncCount }] }),
  service: 'cognito-sync', credentials: target.credentials,
});

/** Latencies (ms) and outcomes per operation. */
class Tally {
  constructor() {
    this.ops = new Map();
    this.errors = 0;
    this.conflicts = 0;
    this.sample = null;
  }
  record(op, ms, status, body) {
    let entry = this.ops.get(op);
    if (!entry) this.ops.set(op, (entry = { latencies: [], ok: 0 }));
    entry.latencies.push(ms);
    if (status === 200) entry.ok++;
    else if (status === 409 && op === 'UpdateRecords') this.conflicts++;
    else {
      this.errors++;
      this.sample ??= `${op}: ${status} ${body.toString('utf8').slice(0, 300)}`;
    }
  }
  get ok() {
    return [...this.ops.values()].reduce((n, e) => n + e.ok, 0);
  }
}

/** One device's sync loop until `deadline`: list, write one key with the token, sometimes describe. */
async function device(port, dev, tally, deadline) {
  const timed = async (op, bytes) => {
    const request = await bytes;
    const start = performance.now();
    const { status, body } = await dev.conn.request(request);
    tally.record(op, performance.now() - start, status, body);
    return { status, body };
  };
  while (performance.now() < deadline) {
    const list = await timed('ListRecords', listRecords(port, dev, dev.lastSyncCount));
    if (list.status !== 200) continue;
    const page = JSON.parse(list.body.toString('utf8'));
    for (const r of page.Records ?? []) dev.syncCounts.set(r.Key, r.SyncCount);
    dev.lastSyncCount = page.DatasetSyncCount ?? dev.lastSyncCount;
    const key = `k${Math.floor(Math.random() * KEYS_PER_DATASET)}`;
    const write = await timed('UpdateRecords', updateRecords(port, dev, key, dev.syncCounts.get(key) ?? 0, page.SyncSessionToken));
    if (write.status === 200) {
      for (const r of JSON.parse(write.body.toString('utf8')).Records ?? []) dev.syncCounts.set(r.Key, r.SyncCount);
    } else if (write.status === 409) {
      dev.lastSyncCount = 0; // the other device wrote first: pull everything again, as the Sync Manager does
    }
    if (++dev.loops % 3 === 0) await timed('DescribeDataset', describeDataset(port, dev));
  }
}

function percentile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

/** Least-squares slope of y over x. */
function slope(points) {
  const n = points.length;
  if (n < 2) return NaN;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const sxy = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  return sxx === 0 ? NaN : sxy / sxx;
}

const mb = (bytes) => bytes / (1024 * 1024);

function printReport(tally, samples, elapsedS, cpuMicros) {
  const total = tally.ok + tally.conflicts + tally.errors;
  console.log(`\nrequests: ${total} in ${elapsedS.toFixed(1)} s — ${tally.ok} ok, ${tally.conflicts} conflicts (409, expected), ${tally.errors} errors` +
    (tally.sample ? ` (first: ${tally.sample})` : ''));
  console.log(`error-free throughput: ${(tally.ok / elapsedS).toFixed(0)} req/s (all answers ${(total / elapsedS).toFixed(0)} req/s); ` +
    `server CPU ${(cpuMicros / total).toFixed(0)} µs per request`);
  let all = [];
  console.log('\noperation        requests      p50 ms   p99 ms');
  for (const [op, e] of tally.ops) {
    const sorted = Float64Array.from(e.latencies).sort();
    all = all.concat(e.latencies);
    console.log(`${op.padEnd(16)} ${String(e.latencies.length).padStart(8)}  ${percentile(sorted, 0.5).toFixed(2).padStart(9)}  ${percentile(sorted, 0.99).toFixed(2).padStart(7)}`);
  }
  const sortedAll = Float64Array.from(all).sort();
  console.log(`${'all'.padEnd(16)} ${String(all.length).padStart(8)}  ${percentile(sortedAll, 0.5).toFixed(2).padStart(9)}  ${percentile(sortedAll, 0.99).toFixed(2).padStart(7)}`);

  console.log('\n  t s   RSS MB   heap MB (after GC)   external MB   req/s in interval');
  for (const s of samples) {
    console.log(`${s.t.toFixed(0).padStart(5)}  ${mb(s.rss).toFixed(1).padStart(7)}  ${mb(s.heapUsed).toFixed(1).padStart(19)}  ` +
      `${mb(s.external).toFixed(1).padStart(12)}  ${s.rps.toFixed(0).padStart(18)}`);
  }
  const warm = samples.filter((s) => s.t >= WARMUP_SECONDS);
  if (warm.length < 2) {
    console.log(`\nmemory growth: too few warm samples (run longer than ${WARMUP_SECONDS} s + two samples)`);
    return;
  }
  const [first, last] = [warm[0], warm.at(-1)];
  const perMinute = (key) => slope(warm.map((s) => ({ x: s.t / 60, y: mb(s[key]) })));
  console.log(`\nmemory once warm (t ${first.t.toFixed(0)} → ${last.t.toFixed(0)} s): ` +
    `RSS ${mb(first.rss).toFixed(1)} → ${mb(last.rss).toFixed(1)} MB (×${(last.rss / first.rss).toFixed(3)}, slope ${perMinute('rss').toFixed(2)} MB/min); ` +
    `heap ${mb(first.heapUsed).toFixed(1)} → ${mb(last.heapUsed).toFixed(1)} MB (×${(last.heapUsed / first.heapUsed).toFixed(3)}, slope ${perMinute('heapUsed').toFixed(2)} MB/min)`);
}

async function main() {
  console.log(`cosync soak: ${SECONDS} s, ${CONNECTIONS} devices (2 per identity), SQLite ${SYNCHRONOUS}, memory sampled every ${SAMPLE_SECONDS} s`);
  const dataDir = mkdtempSync(join(tmpdir(), 'cosync-soak-'));
  const server = startServer(dataDir);
  let conns = [];
  try {
    const { port } = await server.ready;
    conns = await openConnections(port, CONNECTIONS);
    const devices = await setup(port, conns);
    const tally = new Tally();
    const samples = [];
    const start = performance.now();
    const before = await server.stats();
    let lastCount = 0;
    let lastAt = start;
    const sampler = setInterval(async () => {
      const now = performance.now();
      const count = tally.ok + tally.conflicts + tally.errors;
      const stats = await server.stats();
      samples.push({ t: (now - start) / 1000, rss: stats.rss, heapUsed: stats.heapUsed, external: stats.external, rps: (count - lastCount) / ((now - lastAt) / 1000) });
      lastCount = count;
      lastAt = now;
    }, SAMPLE_SECONDS * 1000);
    await Promise.all(devices.map((dev) => device(port, dev, tally, start + SECONDS * 1000)));
    clearInterval(sampler);
    const elapsedS = (performance.now() - start) / 1000;
    const after = await server.stats();
    printReport(tally, samples, elapsedS, after.cpuMicros - before.cpuMicros);
    if (tally.errors > 0) process.exitCode = 1;
  } finally {
    for (const conn of conns) conn.close();
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
