// SigV4 signing (@smithy/signature-v4) and HTTP/1.1 serialisation of bench requests.
// Every request is signed and turned into one Buffer BEFORE the timed window, so the load generator's
// per-request cost is a socket write, the same against Cosync and against the bare node:http server.
import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';

export const BENCH_CREDENTIALS = {
  accessKeyId: 'AKIACOSYNCBENCHKEY01',
  secretAccessKey: 'cosync-bench-secret-access-key/0123456789',
  accountId: '123456789012',
};
export const REGION = 'us-east-1';
/** The key the server signs webhook Sync Trigger calls with, and the bench's receiver verifies. */
export const BENCH_WEBHOOK_SECRET = 'cosync-bench-webhook-secret-0123456789';

/** smithy's Checksum interface over node:crypto (the signer's cost is setup-only, but it is much faster). */
class NodeSha256 {
  constructor(secret) {
    this.secret = secret;
    this.reset();
  }
  update(data) {
    this.hash.update(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
  }
  async digest() {
    return new Uint8Array(this.hash.digest());
  }
  reset() {
    this.hash = this.secret ? createHmac('sha256', this.secret) : createHash('sha256');
  }
}

const signers = new Map();
/** A signer per (service, access key): the developer key by default, or an identity's temporary credentials. */
function signerFor(service, credentials = BENCH_CREDENTIALS) {
  const id = `${service} ${credentials.accessKeyId}`;
  let signer = signers.get(id);
  if (!signer) {
    const { accessKeyId, secretAccessKey, sessionToken } = credentials;
    signer = new SignatureV4({
      credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) },
      region: REGION,
      service,
      sha256: NodeSha256,
      uriEscapePath: true,
    });
    signers.set(id, signer);
  }
  return signer;
}

/** RFC 3986 encoding of one path label or query value, as the AWS SDKs send it (WIRE §1.2). */
export function encodeLabel(text) {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * Builds the bytes of one request. `path` is the path as sent on the wire (labels already encoded);
 * `query` an object of plain values; `service` null for an unsigned request (GetId); `credentials` the signing
 * credentials (default: the developer key; identity credentials add X-Amz-Security-Token).
 */
export async function buildRequest({ port, method, path, query: rawQuery = {}, headers = {}, body = '', service, credentials }) {
  // smithy signs only string query values: a number would be left out of the canonical query.
  const query = Object.fromEntries(Object.entries(rawQuery).map(([k, v]) => [k, String(v)]));
  const bodyBuf = Buffer.from(body, 'utf8');
  const all = { host: `127.0.0.1:${port}`, ...headers };
  if (bodyBuf.length > 0 || method !== 'GET') all['content-length'] = String(bodyBuf.length);
  let signedHeaders = all;
  if (service) {
    const signed = await signerFor(service, credentials).sign({
      method, protocol: 'http:', hostname: '127.0.0.1', port, path, query, headers: all, body: bodyBuf,
    });
    signedHeaders = signed.headers;
  }
  const qs = Object.entries(query).map(([k, v]) => `${encodeLabel(k)}=${encodeLabel(v)}`).join('&');
  let head = `${method} ${path}${qs ? `?${qs}` : ''} HTTP/1.1\r\n`;
  for (const [name, value] of Object.entries(signedHeaders)) head += `${name}: ${value}\r\n`;
  return Buffer.concat([Buffer.from(`${head}\r\n`, 'latin1'), bodyBuf]);
}

const datasetPath = (poolId, identityId, dataset) =>
  `/identitypools/${encodeLabel(poolId)}/identities/${encodeLabel(identityId)}/datasets/${encodeLabel(dataset)}`;

/** ListRecords (GET, no body), as the v3 SDK sends it. */
export function listRecordsRequest(port, { poolId, identityId, dataset }, lastSyncCount) {
  return buildRequest({
    port, method: 'GET', path: `${datasetPath(poolId, identityId, dataset)}/records`,
    query: { lastSyncCount }, service: 'cognito-sync',
  });
}

/**
 * UpdateRecords replacing `keys`, each expected at `syncCount`, with `value`; signed with the target's identity
 * credentials when it has them, else with the developer key.
 */
export function updateRecordsRequest(port, { poolId, identityId, dataset, credentials }, { keys, syncCount, value, token }) {
  const body = JSON.stringify({
    DeviceId: 'bench-device',
    RecordPatches: keys.map((Key) => ({ Op: 'replace', Key, Value: value, SyncCount: syncCount })),
    SyncSessionToken: token,
  });
  return buildRequest({
    port, method: 'POST', path: datasetPath(poolId, identityId, dataset),
    headers: { 'content-type': 'application/json' }, body, service: 'cognito-sync', credentials,
  });
}

/** SetCognitoEvents (developer key): the pool's SyncTrigger. */
export function setSyncTriggerRequest(port, poolId, trigger) {
  return buildRequest({
    port, method: 'POST', path: `/identitypools/${encodeLabel(poolId)}/events`,
    headers: { 'content-type': 'application/json' }, body: JSON.stringify({ Events: { SyncTrigger: trigger } }),
    service: 'cognito-sync',
  });
}

const PUBLIC_IDENTITY_OPERATIONS = new Set(['GetId', 'GetCredentialsForIdentity']);

/** A Cognito Identity (awsJson1_1) call; GetId and GetCredentialsForIdentity are public and go unsigned. */
export function identityRequest(port, operation, input) {
  return buildRequest({
    port, method: 'POST', path: '/',
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `AWSCognitoIdentityService.${operation}` },
    body: JSON.stringify(input), service: PUBLIC_IDENTITY_OPERATIONS.has(operation) ? null : 'cognito-identity',
  });
}
