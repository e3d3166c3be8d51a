// Setup (untimed) and pre-signed request lists for each scenario.
// A scenario object: { name, server: {kind, synchronous?}, webhook?: true, setup(port, conns, {webhookPort}) → state,
//   requests(state, firstIndex, perConnection) → Buffer[][] (one list per connection), check?(state, sent) }.
// `webhook: true` makes run.js start the no-op webhook receiver (webhook-child.js) and pass its port to setup.
import { randomBytes, randomUUID } from 'node:crypto';
import { identityRequest, listRecordsRequest, setSyncTriggerRequest, updateRecordsRequest } from './sign.js';

export const VALUE = 'v'.repeat(32);
const LIST_RECORDS = 1000;
const LIST_BATCH = 250;

async function call(conn, bytes, what) {
  const { status, body } = await conn.request(await bytes);
  const text = body.toString('utf8');
  if (status !== 200) throw new Error(`${what} failed during setup: ${status} ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

/** One pool (guests allowed) and one identity + dataset per connection. */
async function poolAndIdentities(port, conns, dataset) {
  const pool = await call(conns[0], identityRequest(port, 'CreateIdentityPool', {
    IdentityPoolName: 'bench_pool', AllowUnauthenticatedIdentities: true,
  }), 'CreateIdentityPool');
  const poolId = pool.IdentityPoolId;
  return Promise.all(conns.map(async (conn) => {
    const { IdentityId } = await call(conn, identityRequest(port, 'GetId', { IdentityPoolId: poolId }), 'GetId');
    return { poolId, identityId: IdentityId, dataset };
  }));
}

/** `count` fresh SyncSessionTokens for a dataset, from sequential ListRecords calls (not timed). */
async function tokens(port, conn, target, count) {
  const out = [];
  for (let i = 0; i < count; i++) {
    out.push((await call(conn, listRecordsRequest(port, target, 0), 'ListRecords (token)')).SyncSessionToken);
  }
  return out;
}

async function datasetSyncCount(port, conn, target) {
  return (await call(conn, listRecordsRequest(port, target, 0), 'ListRecords (check)')).DatasetSyncCount;
}

/**
 * UpdateRecords writing the same `keyCount` keys on every request: request i of a connection (counting warm-up)
 * expects SyncCount i, since each earlier request raised the dataset's, and so those records', count by one.
 */
export function updateScenario(keyCount, synchronous) {
  const keys = Array.from({ length: keyCount }, (_, k) => `key${String(k).padStart(3, '0')}`);
  const durability = synchronous === 'FULL' ? 'durable' : 'relaxed durability';
  return {
    name: `UpdateRecords ${keyCount} record${keyCount > 1 ? 's' : ''} (${synchronous}, ${durability})`,
    server: { kind: 'cosync', synchronous },
    setup: async (port, conns) => ({ port, conns, targets: await poolAndIdentities(port, conns, 'bench_update') }),
    async requests({ port, conns, targets }, firstIndex, perConnection) {
      return Promise.all(conns.map(async (conn, c) => {
        const list = await tokens(port, conn, targets[c], perConnection);
        const out = [];
        for (let i = 0; i < perConnection; i++) {
          out.push(await updateRecordsRequest(port, targets[c], { keys, syncCount: firstIndex + i, value: VALUE, token: list[i] }));
        }
        return out;
      }));
    },
    /** Every acknowledged write must be there: the dataset count equals the number of requests sent. */
    async check({ port, conns, targets }, sent) {
      const counts = await Promise.all(conns.map((conn, c) => datasetSyncCount(port, conn, targets[c])));
      const wrong = counts.filter((n) => n !== sent).length;
      if (wrong > 0) throw new Error(`${wrong} datasets do not have SyncCount ${sent} after the run`);
    },
  };
}

/** Identity credentials for each target (GetCredentialsForIdentity, as apps get them), kept on the target. */
async function withIdentityCredentials(port, conns, targets) {
  return Promise.all(targets.map(async (target, c) => {
    const { Credentials } = await call(conns[c], identityRequest(port, 'GetCredentialsForIdentity', { IdentityId: target.identityId }),
      'GetCredentialsForIdentity');
    const credentials = { accessKeyId: Credentials.AccessKeyId, secretAccessKey: Credentials.SecretKey, sessionToken: Credentials.SessionToken };
    return { ...target, credentials };
  }));
}

/**
 * UpdateRecords of 1 record signed with each identity's own credentials, the only writes a Sync Trigger runs for
 * (SPEC §7). With `trigger`, the pool's SyncTrigger is the no-op webhook (webhook-child.js: verify, echo the event),
 * so the difference between the two is the cost of a trigger call: reading the dataset for the event, the
 * signed HTTP call on loopback, and checking the answer. Otherwise as updateScenario(1, 'FULL').
 */
export function identityUpdateScenario({ trigger }) {
  const base = updateScenario(1, 'FULL');
  return {
    ...base,
    name: trigger
      ? 'UpdateRecords 1 record, identity creds + no-op webhook trigger (FULL)'
      : 'UpdateRecords 1 record, identity creds, no trigger (FULL)',
    ...(trigger ? { webhook: true } : {}),
    async setup(port, conns, { webhookPort } = {}) {
      const targets = await withIdentityCredentials(port, conns, await poolAndIdentities(port, conns, 'bench_update'));
      if (trigger) {
        await call(conns[0], setSyncTriggerRequest(port, targets[0].poolId, `http://127.0.0.1:${webhookPort}/sync-trigger`), 'SetCognitoEvents');
      }
      return { port, conns, targets };
    },
  };
}

/** 1,000 records in 4 writes (count 4), then 1 record changed (count 5): lastSyncCount 4 gives a delta of 1. */
async function seedListDataset(port, conn, target) {
  for (let b = 0; b < LIST_RECORDS / LIST_BATCH; b++) {
    const keys = Array.from({ length: LIST_BATCH }, (_, k) => `rec${String(b * LIST_BATCH + k).padStart(4, '0')}`);
    const [token] = await tokens(port, conn, target, 1);
    await call(conn, updateRecordsRequest(port, target, { keys, syncCount: 0, value: VALUE, token }), 'UpdateRecords (seed)');
  }
  const [token] = await tokens(port, conn, target, 1);
  await call(conn, updateRecordsRequest(port, target, { keys: ['rec0000'], syncCount: 1, value: 'changed', token }), 'UpdateRecords (delta)');
  const delta = await call(conn, listRecordsRequest(port, target, 4), 'ListRecords (check)');
  const all = await call(conn, listRecordsRequest(port, target, 0), 'ListRecords (check)');
  if (delta.Count !== 1 || delta.DatasetSyncCount !== 5 || all.Count !== LIST_RECORDS) {
    throw new Error(`seeded dataset is wrong: delta ${delta.Count}, count ${delta.DatasetSyncCount}, records ${all.Count}`);
  }
}

export function listScenario() {
  return {
    name: 'ListRecords delta 1 of 1,000 records',
    server: { kind: 'cosync', synchronous: 'FULL' },
    async setup(port, conns) {
      const targets = await poolAndIdentities(port, conns, 'bench_list');
      await Promise.all(conns.map((conn, c) => seedListDataset(port, conn, targets[c])));
      return { port, targets };
    },
    async requests({ port, targets }, _firstIndex, perConnection) {
      return Promise.all(targets.map(async (target) => {
        const out = [];
        for (let i = 0; i < perConnection; i++) out.push(await listRecordsRequest(port, target, 4));
        return out;
      }));
    },
  };
}

/**
 * A scenario run against `workers` Cosync processes on the one SQLite file, as `cosync serve --workers N` runs them
 * (src/cluster.ts): the same requests, over the same connections, which the cluster hands to the workers in turn.
 */
export function withWorkers(scenario, workers) {
  return { ...scenario, name: `${scenario.name}, ${workers} workers`, server: { ...scenario.server, workers } };
}

/**
 * A scenario run against a Cosync instance on PostgreSQL instead of SQLite (run.js gives it a fresh schema, in
 * `server.url`, and drops it afterwards).
 */
export function onPostgres(scenario, name) {
  return { ...scenario, name, server: { kind: 'cosync-pg' }, postgres: true };
}

/**
 * The ceiling: a bare node:http server that reads the body and answers a small JSON 200. It is sent
 * UpdateRecords-shaped requests (same headers, path and body sizes as the 1-record scenario), signed the same way.
 */
export function bareScenario() {
  return {
    name: 'bare node:http (ceiling)',
    server: { kind: 'bare' },
    setup: async (port, conns) => ({
      port,
      targets: conns.map(() => ({
        poolId: `us-east-1:${randomUUID()}`, identityId: `us-east-1:${randomUUID()}`, dataset: 'bench_update',
      })),
    }),
    async requests({ port, targets }, firstIndex, perConnection) {
      // A token of the real format's length: ~200 base64url characters of payload, a dot, a 43-character MAC.
      const token = `${randomBytes(150).toString('base64url')}.${randomBytes(32).toString('base64url')}`;
      return Promise.all(targets.map(async (target) => {
        const out = [];
        for (let i = 0; i < perConnection; i++) {
          out.push(await updateRecordsRequest(port, target, { keys: ['key000'], syncCount: firstIndex + i, value: VALUE, token }));
        }
        return out;
      }));
    },
  };
}
