/**
 * Property-based fuzzing of every route (test/hostile/generators.ts) against the real server on port 0.
 *
 * Properties, for every generated request:
 * - an answer arrives (no hang, no dropped connection) and it is a 2xx success or an AWS-shaped 4xx error
 *   (x-amzn-ErrorType, x-amzn-RequestId, JSON body with __type and message); never a 5xx;
 * - a request that was altered after signing, signed for someone else's request, signed with identity A's
 *   credentials for identity B, or not signed at all never succeeds (public Cognito Identity operations aside);
 * - victim identity B's pool, identity, logins, datasets and records are byte-for-byte what they were: requests
 *   that may succeed are aimed only at the fuzzer's own pool and at identity A;
 * - every route is reached, and past authentication (validation or the operation itself answered).
 *
 * FUZZ_RUNS sets the number of requests, FUZZ_SEED replays a failing run (fast-check prints seed and path).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetCredentialsForIdentityCommand, GetIdCommand, CreateIdentityPoolCommand } from '@aws-sdk/client-cognito-identity';
import { ListDatasetsCommand, ListRecordsCommand, UpdateRecordsCommand } from '@aws-sdk/client-cognito-sync';
import { TEST_CREDENTIALS, clients, poolWithIdentity, startServer, type TestServer } from '../helpers/server.js';
import { hostileRequest, ROUTES, type HostileRequestSpec } from './generators.js';
import { buildRequest, mutate, serialise, transplant, type Target } from './requests.js';
import { exchange, sign, type SigningCredentials, type WireRequest, type WireResponse } from './wire.js';

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 3000);
const SEED = Number(process.env['FUZZ_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
/** Well above any honest answer time on a loaded CI machine; a request without an answer by then is a hang. */
const REQUEST_TIMEOUT_MS = 15_000;
/** Errors that mean the request was stopped at authentication, not by validation or the operation. */
const AUTH_ERRORS = new Set([
  'MissingAuthenticationTokenException', 'IncompleteSignatureException', 'InvalidSignatureException',
  'UnrecognizedClientException', 'ExpiredTokenException', 'AccessDeniedException', 'NotAuthorizedException',
]);

let t: TestServer;
let port: number;
/** The fuzzer's own pool and identity, where developer-signed requests may do anything. */
let own: Omit<Target, 'token'> = { pool: '', identity: '', dataset: '' };
/** Identity A (pool Q), whose identity credentials the fuzzer holds. */
let identityA: Omit<Target, 'token'>;
let credentialsA: Required<SigningCredentials>;
/** Identity B (pool Q), the victim: never the target of a request that may succeed. */
let victim: Omit<Target, 'token'>;
let victimBefore: string;

beforeAll(async () => {
  t = await startServer({ config: { maxBodyBytes: 65_536 } });
  port = Number(new URL(t.endpoint).port);
  await keepPlayground();
  const { identity, sync } = clients(t);
  const q = await identity.send(new CreateIdentityPoolCommand({ IdentityPoolName: 'fuzz_shared', AllowUnauthenticatedIdentities: true }));
  const poolQ = q.IdentityPoolId ?? '';
  const a = (await identity.send(new GetIdCommand({ IdentityPoolId: poolQ }))).IdentityId ?? '';
  const b = (await identity.send(new GetIdCommand({ IdentityPoolId: poolQ }))).IdentityId ?? '';
  identityA = { pool: poolQ, identity: a, dataset: 'fuzz_data' };
  victim = { pool: poolQ, identity: b, dataset: 'victim_profile' };
  const { Credentials } = await identity.send(new GetCredentialsForIdentityCommand({ IdentityId: a }));
  credentialsA = { accessKeyId: Credentials?.AccessKeyId ?? '', secretAccessKey: Credentials?.SecretKey ?? '', sessionToken: Credentials?.SessionToken ?? '' };
  const seed = async (target: Omit<Target, 'token'>, dataset: string, values: Record<string, string>) => {
    const ref = { IdentityPoolId: target.pool, IdentityId: target.identity, DatasetName: dataset };
    const { SyncSessionToken } = await sync.send(new ListRecordsCommand(ref));
    await sync.send(new UpdateRecordsCommand({
      ...ref, SyncSessionToken, DeviceId: 'seed-device',
      RecordPatches: Object.entries(values).map(([Key, Value]) => ({ Op: 'replace', Key, Value, SyncCount: 0 })),
    }));
  };
  await seed(victim, 'victim_profile', { name: 'Ada', email: 'ada@example.com', k1: 'v1' });
  await seed(victim, 'victim_notes', { note: "it's ünïcödé 😀", k2: '' });
  await seed(identityA, 'fuzz_data', { k1: 'a' });
  await seed(own, 'fuzz_data', { k1: 'own' });
  victimBefore = await victimSnapshot();
});
afterAll(() => t.close());

/**
 * (Re)creates the fuzzer's own pool and identity when a developer-signed request deleted them (DeleteIdentityPool,
 * DeleteIdentities, a merge), so later requests keep reaching the operations.
 */
async function keepPlayground(): Promise<void> {
  const { store } = t.services;
  const identity = own.identity ? await store.getIdentity(own.identity) : undefined;
  if (identity && !identity.disabled && await store.getIdentityPool(own.pool)) return;
  const playground = await poolWithIdentity(t, 'fuzz_playground');
  own = { pool: playground.poolId, identity: playground.identityId, dataset: 'fuzz_data' };
}

/** Everything the store holds about the victim, as one string. */
async function victimSnapshot(): Promise<string> {
  const { store } = t.services;
  const datasets = await store.listDatasets(victim.identity, { limit: 1000 });
  const records = await Promise.all(datasets.map((d) =>
    store.listRecords(victim.identity, d.datasetName, { sinceSyncCount: -1, upToSyncCount: Number.MAX_SAFE_INTEGER }, { limit: 10_000 })));
  return JSON.stringify({
    pool: await store.getIdentityPool(victim.pool),
    identity: await store.getIdentity(victim.identity),
    logins: await store.listLogins(victim.identity),
    usage: await store.getIdentityUsage(victim.identity),
    datasets,
    records,
  });
}

async function developerCall(req: WireRequest, service: 'cognito-sync' | 'cognito-identity'): Promise<WireResponse> {
  return exchange(port, serialise(await sign(req, port, TEST_CREDENTIALS, service, t.region), port), REQUEST_TIMEOUT_MS);
}

/** A fresh SyncSessionToken for the target's dataset (developer-signed ListRecords), when the request uses one. */
async function sessionToken(target: Omit<Target, 'token'>): Promise<string> {
  const path = `/identitypools/${encodeURIComponent(target.pool)}/identities/${encodeURIComponent(target.identity)}/datasets/${target.dataset}/records`;
  const res = await developerCall({ method: 'GET', path, query: '', headers: [], body: Buffer.alloc(0) }, 'cognito-sync');
  return (JSON.parse(res.body.toString('utf8')) as { SyncSessionToken?: string }).SyncSessionToken ?? 'no-token';
}

interface Prepared {
  readonly bytes: Buffer;
  /** The request must not succeed (altered, misdirected or unauthorised). */
  readonly mustFail: boolean;
}

async function prepare(spec: HostileRequestSpec): Promise<Prepared> {
  const { route } = spec;
  const usesToken = JSON.stringify(spec.input).includes('$TOKEN');
  // Victim-aimed requests carry a token of A's dataset: a real token, of the wrong identity.
  const token = usesToken ? await sessionToken(spec.auth === 'developer' ? own : identityA) : 'no-token';
  const at = (target: Omit<Target, 'token'>) => buildRequest(spec, { ...target, token });
  const signAs = (req: WireRequest, credentials: SigningCredentials) => sign(req, port, credentials, route.service, t.region);
  const refusedUnlessPublic = !route.public;
  switch (spec.auth) {
    case 'developer': return { bytes: serialise(await signAs(at(own), TEST_CREDENTIALS), port), mustFail: false };
    case 'identityOwn': return { bytes: serialise(await signAs(at(identityA), credentialsA), port), mustFail: false };
    case 'identityVictim': return { bytes: serialise(await signAs(at(victim), credentialsA), port), mustFail: refusedUnlessPublic };
    case 'unsigned': return { bytes: serialise(at(victim), port), mustFail: refusedUnlessPublic };
    case 'garbageAuth': {
      const req = at(victim);
      const headers = [...req.headers, ['Authorization', spec.garbageAuthorization.replace(/[\r\n]/g, ' ')] as const];
      return { bytes: serialise({ ...req, headers }, port), mustFail: refusedUnlessPublic };
    }
    case 'mutated': {
      const signed = await signAs(at(victim), TEST_CREDENTIALS);
      return { bytes: serialise(mutate(signed, spec.mutation, credentialsA.accessKeyId), port), mustFail: refusedUnlessPublic };
    }
    case 'transplanted': {
      const [from, credentials] = spec.transplantFrom === 'developer' ? [own, TEST_CREDENTIALS] : [identityA, credentialsA];
      const signed = await signAs(at(from), credentials);
      const original = serialise(transplant(signed, at(from)), port);
      const bytes = serialise(transplant(signed, at(victim)), port);
      // A request without identifiers is the same request whoever it is "aimed" at.
      return { bytes, mustFail: refusedUnlessPublic && !bytes.equals(original) };
    }
  }
}

/** Why the answer breaks a property, or undefined when it keeps them all. */
function violation(res: WireResponse, prepared: Prepared, method: string): string | undefined {
  const ok = res.status >= 200 && res.status < 300;
  if (!ok && (res.status < 400 || res.status >= 500)) return `status ${res.status}`;
  if (!res.headers['x-amzn-requestid']) return 'no x-amzn-RequestId';
  if (ok && prepared.mustFail) return 'an altered, misdirected or unauthorised request succeeded';
  // An answer to HEAD has the headers of the GET answer and no body.
  if (method === 'HEAD') return ok || res.headers['x-amzn-errortype'] ? undefined : 'no x-amzn-ErrorType';
  let body: unknown;
  try {
    body = JSON.parse(res.body.toString('utf8'));
  } catch {
    return 'body is not JSON';
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'body is not a JSON object';
  if (ok) return prepared.mustFail ? 'an altered, misdirected or unauthorised request succeeded' : undefined;
  const type = res.headers['x-amzn-errortype'];
  const { __type, message } = body as { __type?: unknown; message?: unknown };
  if (!type) return 'no x-amzn-ErrorType';
  if (typeof __type !== 'string' || !type.startsWith(__type)) return `__type ${String(__type)} does not match x-amzn-ErrorType ${type}`;
  if (typeof message !== 'string' || message.length === 0) return 'no message';
  return undefined;
}

function describeSpec(spec: HostileRequestSpec, bytes: Buffer): string {
  const head = bytes.toString('latin1', 0, Math.min(bytes.length, 600)).replace(/\r\n/g, '\n  ');
  return `${spec.route.name} auth=${spec.auth}${spec.auth === 'mutated' ? `/${spec.mutation}` : ''} body=${spec.body.kind} labels=${spec.labelEncoding}\n  ${head}`;
}

const reached = new Map<string, { sent: number; pastAuth: number; succeeded: number }>();

async function runOne(spec: HostileRequestSpec): Promise<void> {
  const prepared = await prepare(spec);
  let res: WireResponse;
  try {
    res = await exchange(port, prepared.bytes, REQUEST_TIMEOUT_MS);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${describeSpec(spec, prepared.bytes)}`);
  }
  const problem = violation(res, prepared, spec.variant === 'HEAD' ? 'HEAD' : spec.route.method);
  if (problem) throw new Error(`${problem}: ${res.status} ${res.body.toString('utf8').slice(0, 300)}\n${describeSpec(spec, prepared.bytes)}`);
  const after = await victimSnapshot();
  if (after !== victimBefore) {
    throw new Error(`the victim's data changed (answer ${res.status} ${res.body.toString('utf8').slice(0, 200)})\n${describeSpec(spec, prepared.bytes)}`);
  }
  await keepPlayground();
  const count = reached.get(spec.route.name) ?? { sent: 0, pastAuth: 0, succeeded: 0 };
  count.sent++;
  const errorType = res.headers['x-amzn-errortype']?.split(':')[0] ?? '';
  if (res.status < 300 || !AUTH_ERRORS.has(errorType)) count.pastAuth++;
  if (res.status < 300) count.succeeded++;
  reached.set(spec.route.name, count);
}

describe('hostile requests on every route', () => {
  it('the route list comes from the models: 17 Cognito Sync routes and every Cognito Identity target', () => {
    expect(ROUTES.filter((r) => r.service === 'cognito-sync')).toHaveLength(17);
    expect(ROUTES.filter((r) => r.service === 'cognito-identity').length).toBeGreaterThanOrEqual(20);
  });

  it('every answer is a 2xx or an AWS-shaped 4xx, refused requests never succeed, the victim is untouched', async () => {
    await fc.assert(fc.asyncProperty(hostileRequest(), runOne), {
      numRuns: RUNS, endOnFailure: true, seed: SEED,
    });
    const total = (key: 'pastAuth' | 'succeeded') => [...reached.values()].reduce((n, c) => n + c[key], 0);
    console.log(`hostile fuzz: ${RUNS} requests (FUZZ_SEED=${SEED}), ${total('pastAuth')} past authentication, ${total('succeeded')} succeeded`);
    const missing = ROUTES.filter((r) => !(reached.get(r.name)?.pastAuth)).map((r) => r.name);
    expect(missing, 'routes never reached past authentication').toEqual([]);
    expect(total('succeeded'), 'requests that reached an operation and succeeded').toBeGreaterThan(RUNS / 20);
  }, 240_000);

  it('still serves normal requests afterwards', async () => {
    const { sync } = clients(t);
    const out = await sync.send(new ListDatasetsCommand({ IdentityPoolId: victim.pool, IdentityId: victim.identity }));
    expect(out.Datasets?.map((d) => d.DatasetName)).toEqual(['victim_notes', 'victim_profile']);
    expect(await victimSnapshot()).toBe(victimBefore);
  });
});
