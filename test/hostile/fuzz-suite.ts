/**
 * The hostile-input fuzzer, run against a real server on port 0 by fuzz.test.ts (SQLite) and fuzz-postgres.test.ts
 * (PostgreSQL): the same generated requests (generators.ts) and properties on either engine.
 *
 * Properties, for every generated request:
 * - an answer arrives (no hang, no dropped connection) and it is a 2xx success or an AWS-shaped 4xx error
 *   (x-amzn-ErrorType, x-amzn-RequestId, JSON body with __type and message); never a 5xx;
 * - a request that was altered after signing, signed for someone else's request, signed with identity A's
 *   credentials for identity B, or not signed at all never succeeds (public Cognito Identity operations aside);
 * - victim identity B's pool, identity, logins, usage, datasets and records are byte-for-byte what they were:
 *   requests that may succeed are aimed only at the fuzzer's own pool and at identity A;
 * - every route is reached, and past authentication (validation or the operation itself answered).
 *
 * FUZZ_RUNS sets the number of requests, FUZZ_SEED replays a failing run (fast-check prints seed and path).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateIdentityPoolCommand, GetCredentialsForIdentityCommand, GetIdCommand } from '@aws-sdk/client-cognito-identity';
import { ListDatasetsCommand, ListRecordsCommand, UpdateRecordsCommand } from '@aws-sdk/client-cognito-sync';
import { TEST_CREDENTIALS, clients, poolWithIdentity, startServer, type TestServer, type TestServerOptions } from '../helpers/server.js';
import { hostileRequest, ROUTES, type HostileRequestSpec } from './generators.js';
import { buildRequest, mutate, serialise, transplant, type Target } from './requests.js';
import { exchange, sign, type SigningCredentials, type WireRequest, type WireResponse } from './wire.js';

const SEED = Number(process.env['FUZZ_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
/** Well above any honest answer time on a loaded CI machine; a request without an answer by then is a hang. */
const REQUEST_TIMEOUT_MS = 15_000;
/** Errors that mean the request was stopped at authentication, not by validation or the operation. */
const AUTH_ERRORS = new Set([
  'MissingAuthenticationTokenException', 'IncompleteSignatureException', 'InvalidSignatureException',
  'UnrecognizedClientException', 'ExpiredTokenException', 'AccessDeniedException', 'NotAuthorizedException',
]);

type Place = Omit<Target, 'token'>;

interface Prepared {
  readonly bytes: Buffer;
  /** The request must not succeed (altered, misdirected or unauthorised). */
  readonly mustFail: boolean;
}

/** One fuzzing session: the server, the fuzzer's own pool, identity A with its credentials, and victim B. */
class FuzzSession {
  /** The fuzzer's own pool and identity, where developer-signed requests may do anything. */
  private own: Place = { pool: '', identity: '', dataset: 'fuzz_data' };
  private victimBefore = '';
  readonly reached = new Map<string, { sent: number; pastAuth: number; succeeded: number }>();

  private constructor(
    readonly t: TestServer,
    private readonly port: number,
    /** Identity A (pool Q), whose identity credentials the fuzzer holds. */
    private readonly identityA: Place,
    private readonly credentialsA: Required<SigningCredentials>,
    /** Identity B (pool Q), the victim: never the target of a request that may succeed. */
    readonly victim: Place,
  ) {}

  static async start(options: TestServerOptions): Promise<FuzzSession> {
    const t = await startServer(options);
    const { identity } = clients(t);
    const q = await identity.send(new CreateIdentityPoolCommand({ IdentityPoolName: 'fuzz_shared', AllowUnauthenticatedIdentities: true }));
    const poolQ = q.IdentityPoolId ?? '';
    const a = (await identity.send(new GetIdCommand({ IdentityPoolId: poolQ }))).IdentityId ?? '';
    const b = (await identity.send(new GetIdCommand({ IdentityPoolId: poolQ }))).IdentityId ?? '';
    const { Credentials: c } = await identity.send(new GetCredentialsForIdentityCommand({ IdentityId: a }));
    const session = new FuzzSession(t, Number(new URL(t.endpoint).port), { pool: poolQ, identity: a, dataset: 'fuzz_data' },
      { accessKeyId: c?.AccessKeyId ?? '', secretAccessKey: c?.SecretKey ?? '', sessionToken: c?.SessionToken ?? '' },
      { pool: poolQ, identity: b, dataset: 'victim_profile' });
    await session.keepPlayground();
    await session.seed(session.victim, 'victim_profile', { name: 'Ada', email: 'ada@example.com', k1: 'v1' });
    await session.seed(session.victim, 'victim_notes', { note: "it's ünïcödé 😀", k2: '' });
    await session.seed(session.identityA, 'fuzz_data', { k1: 'a' });
    await session.seed(session.own, 'fuzz_data', { k1: 'own' });
    session.victimBefore = await session.victimSnapshot();
    return session;
  }

  private async seed(place: Place, dataset: string, values: Record<string, string>): Promise<void> {
    const { sync } = clients(this.t);
    const ref = { IdentityPoolId: place.pool, IdentityId: place.identity, DatasetName: dataset };
    const { SyncSessionToken } = await sync.send(new ListRecordsCommand(ref));
    await sync.send(new UpdateRecordsCommand({
      ...ref, SyncSessionToken, DeviceId: 'seed-device',
      RecordPatches: Object.entries(values).map(([Key, Value]) => ({ Op: 'replace', Key, Value, SyncCount: 0 })),
    }));
  }

  /**
   * (Re)creates the fuzzer's own pool and identity when a developer-signed request deleted them (DeleteIdentityPool,
   * DeleteIdentities, a merge), so later requests keep reaching the operations.
   */
  async keepPlayground(): Promise<void> {
    const { store } = this.t.services;
    const identity = this.own.identity ? await store.getIdentity(this.own.identity) : undefined;
    if (identity && !identity.disabled && await store.getIdentityPool(this.own.pool)) return;
    const playground = await poolWithIdentity(this.t, 'fuzz_playground');
    this.own = { pool: playground.poolId, identity: playground.identityId, dataset: 'fuzz_data' };
  }

  /** Everything the store holds about the victim, as one string. */
  async victimSnapshot(): Promise<string> {
    const { store } = this.t.services;
    const { identity } = this.victim;
    const datasets = await store.listDatasets(identity, { limit: 1000 });
    const records = await Promise.all(datasets.map((d) =>
      store.listRecords(identity, d.datasetName, { sinceSyncCount: -1, upToSyncCount: Number.MAX_SAFE_INTEGER }, { limit: 10_000 })));
    return JSON.stringify({
      pool: await store.getIdentityPool(this.victim.pool),
      identity: await store.getIdentity(identity),
      logins: await store.listLogins(identity),
      usage: await store.getIdentityUsage(identity),
      datasets,
      records,
    });
  }

  victimUnchanged(snapshot: string): boolean {
    return snapshot === this.victimBefore;
  }

  /** A fresh SyncSessionToken for the place's dataset (developer-signed ListRecords), when the request uses one. */
  private async sessionToken(place: Place): Promise<string> {
    const path = `/identitypools/${encodeURIComponent(place.pool)}/identities/${encodeURIComponent(place.identity)}/datasets/${place.dataset}/records`;
    const req: WireRequest = { method: 'GET', path, query: '', headers: [], body: Buffer.alloc(0) };
    const signed = await sign(req, this.port, TEST_CREDENTIALS, 'cognito-sync', this.t.region);
    const res = await exchange(this.port, serialise(signed, this.port), REQUEST_TIMEOUT_MS);
    return (JSON.parse(res.body.toString('utf8')) as { SyncSessionToken?: string }).SyncSessionToken ?? 'no-token';
  }

  async prepare(spec: HostileRequestSpec): Promise<Prepared> {
    const { route } = spec;
    const { own, identityA, credentialsA, victim, port } = this;
    const usesToken = JSON.stringify(spec.input).includes('$TOKEN');
    // Victim-aimed requests carry a token of A's dataset: a real token, of the wrong identity.
    const token = usesToken ? await this.sessionToken(spec.auth === 'developer' ? own : identityA) : 'no-token';
    const at = (place: Place) => buildRequest(spec, { ...place, token });
    const signAs = (req: WireRequest, credentials: SigningCredentials) => sign(req, port, credentials, route.service, this.t.region);
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

  /** Sends one generated request and throws, with the request's description, if any property breaks. */
  async runOne(spec: HostileRequestSpec): Promise<void> {
    const prepared = await this.prepare(spec);
    let res: WireResponse;
    try {
      res = await exchange(this.port, prepared.bytes, REQUEST_TIMEOUT_MS);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${describeSpec(spec, prepared.bytes)}`);
    }
    const answer = `${res.status} ${res.body.toString('utf8').slice(0, 300)}`;
    const problem = violation(res, prepared, spec.variant === 'HEAD' ? 'HEAD' : spec.route.method);
    if (problem) throw new Error(`${problem}: ${answer}\n${describeSpec(spec, prepared.bytes)}`);
    if (!this.victimUnchanged(await this.victimSnapshot())) {
      throw new Error(`the victim's data changed (answer ${answer})\n${describeSpec(spec, prepared.bytes)}`);
    }
    await this.keepPlayground();
    this.count(spec.route.name, res);
  }

  private count(route: string, res: WireResponse): void {
    const count = this.reached.get(route) ?? { sent: 0, pastAuth: 0, succeeded: 0 };
    count.sent++;
    const errorType = res.headers['x-amzn-errortype']?.split(':')[0] ?? '';
    if (res.status < 300 || !AUTH_ERRORS.has(errorType)) count.pastAuth++;
    if (res.status < 300) count.succeeded++;
    this.reached.set(route, count);
  }

  total(key: 'pastAuth' | 'succeeded'): number {
    return [...this.reached.values()].reduce((n, c) => n + c[key], 0);
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

/**
 * Registers the fuzzing tests for one storage engine. `options` is called in beforeAll (a PostgreSQL schema is made
 * there); `cleanup` runs after the server is closed.
 */
export function describeHostileFuzz(
  engine: string, runs: number, options: () => Promise<TestServerOptions>, cleanup: () => Promise<void> = async () => {},
): void {
  describe(`hostile requests on every route (${engine})`, () => {
    let session: FuzzSession;
    beforeAll(async () => { session = await FuzzSession.start(await options()); });
    afterAll(async () => {
      await session?.t.close();
      await cleanup();
    });

    it('the route list comes from the models: 17 Cognito Sync routes and every Cognito Identity target', () => {
      expect(ROUTES.filter((r) => r.service === 'cognito-sync')).toHaveLength(17);
      expect(ROUTES.filter((r) => r.service === 'cognito-identity').length).toBeGreaterThanOrEqual(20);
    });

    it('every answer is a 2xx or an AWS-shaped 4xx, refused requests never succeed, the victim is untouched', async () => {
      await fc.assert(fc.asyncProperty(hostileRequest(), (spec) => session.runOne(spec)), { numRuns: runs, endOnFailure: true, seed: SEED });
      console.log(`hostile fuzz (${engine}): ${runs} requests (FUZZ_SEED=${SEED}), ` +
        `${session.total('pastAuth')} past authentication, ${session.total('succeeded')} succeeded`);
      const missing = ROUTES.filter((r) => !(session.reached.get(r.name)?.pastAuth)).map((r) => r.name);
      expect(missing, 'routes never reached past authentication').toEqual([]);
      expect(session.total('succeeded'), 'requests that reached an operation and succeeded').toBeGreaterThan(runs / 20);
    }, 300_000);

    it('still serves normal requests afterwards', async () => {
      const { sync } = clients(session.t);
      const { victim } = session;
      const out = await sync.send(new ListDatasetsCommand({ IdentityPoolId: victim.pool, IdentityId: victim.identity }));
      expect(out.Datasets?.map((d) => d.DatasetName)).toEqual(['victim_notes', 'victim_profile']);
      expect(session.victimUnchanged(await session.victimSnapshot())).toBe(true);
    });
  });
}
