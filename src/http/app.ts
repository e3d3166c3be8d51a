import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import { errors, type Protocol } from '../api/errors.js';
import type { Operation, Services } from '../api/operation.js';
import type { RateLimiter } from '../api/throttle.js';
import { validateInput } from '../api/validate.js';
import { cognitoSyncModel } from '../api/model/cognito-sync-model.js';
import { cognitoIdentityModel } from '../api/model/cognito-identity-model.js';
import type { ServiceModel } from '../api/model/types.js';
import { authorize } from '../auth/authorize.js';
import type { Principal } from '../auth/principal.js';
import { hasSignature, verifySigV4, type CredentialResolver } from '../auth/sigv4.js';
import { rejectQueryAuthentication } from '../auth/sigv4-request.js';
import { headerValue, jsonBody, restJsonInput, splitUrl, type RawRequest } from './request.js';
import { answerConnect, isClosing, sendClientError, sendError, sendResult } from './respond.js';
import { sendThisTurn } from './reply-batch.js';
import { CORS_HEADERS, registerCorsPreflight } from './cors.js';
import { registerOpenIdRoutes } from './openid-routes.js';
import { registerAccessLog, type SyncRouteConfig } from './access-log.js';
import { METHOD_OVERRIDE_CONSTRAINT, methodOverrideStrategy } from './method-override.js';

export interface EdgeDeps {
  readonly services: Services;
  readonly resolveCredentials: CredentialResolver;
  readonly syncOperations: Readonly<Record<string, Operation<string, never>>>;
  readonly identityOperations: Readonly<Record<string, Operation<string, never>>>;
  readonly limiter: RateLimiter;
}

const IDENTITY_TARGET_PREFIX = 'AWSCognitoIdentityService.';
/** The header that names a Cognito Identity operation: a signature that leaves it out could be replayed as another. */
const IDENTITY_SIGNED_HEADERS = ['x-amz-target'];
/** Cognito Sync's: none beyond host (its paths and methods name the operation, and both are signed). */
const NO_HEADERS: readonly string[] = [];

/**
 * The HTTP edge: one port serving Cognito Sync (restJson1 routes from the model) and Cognito Identity
 * (`POST /` + X-Amz-Target, awsJson1_1). Per request: route → read body → verify SigV4 (unless the operation
 * is public) → build and validate the input against the model → authorize → throttle → handler → respond.
 */
export function buildHttpApp(deps: EdgeDeps): FastifyInstance {
  const { config, logger } = deps.services;
  const timeouts = config.http;
  const headersTimeout = Math.min(timeouts.headersTimeoutMs, timeouts.requestTimeoutMs);
  /** The access log's, for the answers no hook sees; set below when the logger writes debug lines. */
  let logFrameworkError: ((req: FastifyRequest, reply: FastifyReply) => void) | undefined;
  const app = Fastify({
    logger: false,
    bodyLimit: config.maxBodyBytes,
    // Slow or silent clients (docs/configuration.md). Node checks the header and request deadlines every
    // connectionsCheckingInterval, so that is kept well under the shorter of the two.
    http: {
      headersTimeout,
      requestTimeout: timeouts.requestTimeoutMs,
      connectionsCheckingInterval: Math.max(10, Math.min(5000, Math.floor(headersTimeout / 4))),
      // node:http would answer a request without Host itself, in no AWS shape. Such a request goes on: a signature
      // that covers `host` then fails as any other mismatch.
      requireHostHeader: false,
    },
    requestTimeout: timeouts.requestTimeoutMs,
    connectionTimeout: timeouts.idleTimeoutMs,
    keepAliveTimeout: timeouts.keepAliveTimeoutMs,
    genReqId: () => randomUUID(),
    forceCloseConnections: 'idle',
    // A request that reaches the server while it closes is still served (its answer ends the connection, see
    // onSend): Fastify's 503 would answer requests clients had already sent, in a body no AWS client parses.
    return503OnClosing: false,
    // No HEAD twin of every GET route: no client sends HEAD, and a HEAD signed as such would fail as a GET's
    // signature. It is a method the path does not serve (405).
    exposeHeadRoutes: false,
    // Query strings are parsed by src/http/request.ts exactly as SigV4 and the model need them.
    routerOptions: {
      maxParamLength: 8192,
      querystringParser: () => ({}),
      constraints: { [METHOD_OVERRIDE_CONSTRAINT]: methodOverrideStrategy },
    },
    // Requests refused before routing (a path that is not percent-encoding, say): no onRequest hook runs for them.
    frameworkErrors: (err, req, reply) => {
      logFrameworkError?.(req, reply);
      sendError(reply, protocolOf(req), req.id, err, logger);
    },
    clientErrorHandler: (err, socket) => sendClientError(err, socket, logger),
  });
  // What every answer Fastify sends carries; API results are written by respond.ts with the same headers. Once
  // close() has begun, answers in flight end their keep-alive connection, so shutdown does not wait for clients to
  // hang up.
  app.addHook('onSend', (_req, reply, payload, done) => {
    reply.headers(CORS_HEADERS);
    if (isClosing(reply)) reply.header('Connection', 'close');
    done(null, payload);
  });
  if (logger.isLevelEnabled('debug')) logFrameworkError = registerAccessLog(app, logger);
  // What node:http handles outside any route. An Expect other than 100-continue, which it would refuse with a bare
  // 417, is ignored (RFC 9110 §10.1.1 allows either): the request is served as if it had none.
  app.server.on('checkExpectation', (req, res) => app.server.emit('request', req, res));
  app.server.on('connect', answerConnect);
  if (config.maxConnections !== null) app.server.maxConnections = config.maxConnections;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  const templates = new Map<string, string[]>();
  for (const [name, model] of Object.entries(cognitoSyncModel.operations)) {
    const op = deps.syncOperations[name];
    if (!op) throw new Error(`no handler registered for ${name}`);
    const { method, uri } = model.http;
    templates.set(uri, [...(templates.get(uri) ?? []), method]);
    const url = uri.replace(/\{(\w+)\}/g, ':$1');
    const handler = (req: FastifyRequest, reply: FastifyReply): void => {
      void handleSync(deps, op, model.input, uri, method, req, reply);
    };
    // The operation's name travels in the route's config for the access log (access-log.ts).
    const config: SyncRouteConfig = { operation: name };
    app.route({ method, url, handler, config });
    // The same operation sent as POST with X-HTTP-Method-Override naming its method (Unity, method-override.ts).
    if (method !== 'POST') {
      app.route({ method: 'POST', url, constraints: { [METHOD_OVERRIDE_CONSTRAINT]: method }, handler, config });
    }
  }
  app.post('/', (req, reply) => {
    void handleIdentity(deps, req, reply);
  });
  // The Cognito Identity endpoint: another method on it is a wrong method, not an unknown path.
  templates.set('/', ['POST']);
  registerOpenIdRoutes(app, deps.services);
  const answerNoRoute = (req: FastifyRequest, reply: FastifyReply): void => {
    const { rawPath } = splitUrl(req.url);
    const allowed = allowedMethods(templates, rawPath);
    const err = allowed.length > 0
      ? errors.methodNotAllowed(`${req.method} is not allowed on ${rawPath}; use ${allowed.join(' or ')}`, { Allow: allowed.join(', ') })
      : errors.unknownOperation(`No operation matches ${req.method} ${rawPath}`);
    sendError(reply, protocolOf(req), req.id, err, logger);
  };
  registerCorsPreflight(app, answerNoRoute);
  app.setNotFoundHandler(answerNoRoute);
  app.setErrorHandler((err, req, reply) => sendError(reply, protocolOf(req), req.id, err, logger));
  return app;
}

function protocolOf(req: FastifyRequest): Protocol {
  return req.method === 'POST' && splitUrl(req.url).rawPath === '/' ? 'awsJson1_1' : 'restJson1';
}

function allowedMethods(templates: Map<string, string[]>, rawPath: string): string[] {
  const segments = rawPath.split('/');
  for (const [uri, methods] of templates) {
    const parts = uri.split('/');
    if (parts.length === segments.length && parts.every((p, i) => p.startsWith('{') || p === segments[i])) return methods;
  }
  return [];
}

/** `method`: the operation's, which the client signed, whatever it sent the request as (method-override.ts). */
function rawRequest(req: FastifyRequest, method: string): RawRequest {
  const { rawPath, rawQuery } = splitUrl(req.url);
  const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  return { method, rawPath, rawQuery, headers: req.headers, body };
}

// authenticate and run are not async functions: their callers await them inside a try, so a synchronous throw is
// handled the same way, and the promise they pass on is not wrapped in one more (each costs microtask turns).
function authenticate(deps: EdgeDeps, raw: RawRequest, service: string, op: Operation<string, never>): Principal | Promise<Principal> {
  if (op.auth === 'public') return { kind: 'anonymous' };
  if (!hasSignature(raw.headers)) {
    // A presigned URL carries its signature in the query: say it is not supported rather than that none was sent.
    rejectQueryAuthentication(raw.rawQuery);
    throw errors.missingAuthenticationToken('Request is missing Authentication Token');
  }
  return verifySigV4(raw, {
    service,
    mustSign: service === 'cognito-identity' ? IDENTITY_SIGNED_HEADERS : NO_HEADERS,
    region: deps.services.config.region,
    now: new Date(deps.services.clock.now()),
    resolve: deps.resolveCredentials,
  });
}

function run(
  deps: EdgeDeps, op: Operation<string, never>, model: ServiceModel, inputShape: string | null,
  input: Record<string, unknown>, principal: Principal, req: FastifyRequest,
): Promise<object> {
  const ctx = { requestId: req.id, principal, services: deps.services, clientGone: () => req.raw.socket.destroyed };
  if (inputShape) {
    // The error AWS's front end answers for a broken model constraint differs between the two services.
    validateInput(model, inputShape, input, model === cognitoIdentityModel ? errors.validation : errors.invalidParameter);
  }
  authorize(op.auth, principal, input);
  if (model.operations[op.name]?.errors.includes('TooManyRequestsException')) {
    const identityId = typeof input['IdentityId'] === 'string' ? input['IdentityId']
      : principal.kind === 'identity' ? principal.identityId : undefined;
    // A promise only when the buckets are shared across instances (PostgreSQL).
    const poolId = typeof input['IdentityPoolId'] === 'string' ? input['IdentityPoolId'] : undefined;
    const taken = deps.limiter.take(poolId, identityId, op.auth === 'public' ? 'public' : 'signed');
    if (taken) return taken.then(() => op.handler(input as never, ctx));
  }
  return op.handler(input as never, ctx);
}

// The API handlers never reject (every failure becomes an AWS-shaped answer) and answer through sendThisTurn
// (reply-batch.ts). Their routes run them without returning the promise: a route handler that returns undefined
// tells Fastify the reply is sent later, with no per-request wait on the response stream as returning the reply costs.
async function handleSync(
  deps: EdgeDeps, op: Operation<string, never>, inputShape: string | null, template: string, method: string,
  req: FastifyRequest, reply: FastifyReply,
): Promise<void> {
  try {
    const raw = rawRequest(req, method);
    const principal = await authenticate(deps, raw, 'cognito-sync', op);
    const input = inputShape ? restJsonInput(cognitoSyncModel, inputShape, template, raw) : {};
    const result = await run(deps, op, cognitoSyncModel, inputShape, input, principal, req);
    sendThisTurn(reply, () => sendResult(reply, 'restJson1', req.id, result));
  } catch (err) {
    sendThisTurn(reply, () => sendError(reply, 'restJson1', req.id, err, deps.services.logger));
  }
}

async function handleIdentity(deps: EdgeDeps, req: FastifyRequest, reply: FastifyReply): Promise<void> {
  try {
    const raw = rawRequest(req, req.method);
    const target = headerValue(raw.headers, 'x-amz-target') ?? '';
    const name = target.startsWith(IDENTITY_TARGET_PREFIX) ? target.slice(IDENTITY_TARGET_PREFIX.length) : '';
    // Own properties only: `constructor`, `__proto__` and the like name no operation.
    const op = Object.hasOwn(deps.identityOperations, name) ? deps.identityOperations[name] : undefined;
    if (!op) throw errors.unknownOperation(target ? `Unknown operation ${target}` : 'Missing X-Amz-Target header');
    const principal = await authenticate(deps, raw, 'cognito-identity', op);
    const inputShape = cognitoIdentityModel.operations[name as keyof typeof cognitoIdentityModel.operations]?.input ?? null;
    const result = await run(deps, op, cognitoIdentityModel, inputShape, jsonBody(raw.body), principal, req);
    sendThisTurn(reply, () => sendResult(reply, 'awsJson1_1', req.id, result));
  } catch (err) {
    sendThisTurn(reply, () => sendError(reply, 'awsJson1_1', req.id, err, deps.services.logger));
  }
}
