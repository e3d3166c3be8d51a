import { randomBytes, randomFillSync, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import type { Clock, IdSource, Services } from './api/operation.js';
import { RateLimiter } from './api/throttle.js';
import { syncOperations } from './api/sync/index.js';
import { identityOperations } from './api/identity/index.js';
import { buildHttpApp } from './http/app.js';
import { HookRunner } from './hooks/hook-runner.js';
import { BulkPublishRuns } from './hooks/bulk-publish-runs.js';
import { trackConnections } from './http/connection-drain.js';
import type { SyncHooks } from './hooks/types.js';
import { createLogger, type Logger } from './logger.js';
import { openStore } from './storage/index.js';
import type { SyncStore } from './storage/store.js';
import type { CredentialResolver } from './auth/sigv4.js';
import type { ServerKeys } from './auth/server-keys.js';
import { LoginVerifier } from './auth/login-providers.js';
import { identityCredentialsResolver } from './auth/identity-resolver.js';
import { SyncTriggers } from './triggers/sync-triggers.js';
import { flushUnavailableLog } from './http/unavailable-log.js';

export interface DeveloperCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly accountId: string;
}

export interface ServerOptions {
  readonly config: Config;
  readonly developerCredentials: DeveloperCredentials;
  /** Keys from which identity credentials and OpenID tokens derive (src/auth/server-keys.ts). */
  readonly serverKeys: ServerKeys;
  readonly clock?: Clock;
  readonly ids?: IdSource;
  readonly hooks?: readonly SyncHooks[];
  readonly logger?: Logger;
  /** An already open store (tests); otherwise one is opened from config.storage and closed by close(). */
  readonly store?: SyncStore;
  /**
   * Test seam: a further credential resolver, tried after the developer key and identity credentials (tests mint
   * principals with it). Not wired to any CLI flag.
   */
  readonly extraCredentials?: CredentialResolver;
}

export interface CosyncServer {
  readonly app: FastifyInstance;
  readonly services: Services;
  /** Starts listening; resolves with the URL clients should use as their endpoint. */
  listen(): Promise<string>;
  /** Stops accepting, finishes requests in flight, then closes the store. Idempotent. */
  close(): Promise<void>;
}

const systemClock: Clock = { now: () => Date.now() };
const randomIds: IdSource = { uuid: () => randomUUID(), random: pooledRandom };

/**
 * Random bytes from a pool refilled from the CSPRNG 4 KiB at a time, as crypto.randomUUID does: each randomBytes
 * call is a round trip to the system's random source, and ListRecords takes 16 bytes for every session it starts.
 * Every byte is handed out once.
 */
const randomPool = Buffer.alloc(4096);
let randomOffset = randomPool.length;
function pooledRandom(bytes: number): string {
  if (bytes > randomPool.length) return randomBytes(bytes).toString('base64url');
  if (randomOffset + bytes > randomPool.length) {
    randomFillSync(randomPool);
    randomOffset = 0;
  }
  const text = randomPool.toString('base64url', randomOffset, randomOffset + bytes);
  randomOffset += bytes;
  return text;
}
const SESSION_PRUNE_INTERVAL_MS = 10 * 60 * 1000;

/** What opening the store reports when it applied schema migrations: one log line, with the versions. */
export function logMigrations(logger: Logger): (applied: readonly number[]) => void {
  return (applied) => logger.info({ applied }, `database schema migrated to version ${applied.at(-1)}`);
}

/**
 * Builds the server without listening, so tests and the CLI share one path. When building fails after the store was
 * opened here, the store is closed before the error is rethrown: its connections would otherwise keep the process
 * alive (PostgreSQL's idle ones for 30 s) after a start that already failed.
 */
export async function createServer(options: ServerOptions): Promise<CosyncServer> {
  const logger = options.logger ?? createLogger(options.config.logLevel);
  if (options.store) return assemble(options, options.store, logger);
  const store = await openStore(options.config.storage, {
    onBackgroundError: (err) => logger.warn({ err }, 'database connection lost while idle; reconnecting on demand'),
    onMigrated: logMigrations(logger),
    onSchemaAhead: (version, known) => logger.error(
      { version, known },
      `the database schema is at version ${version}, newer than this release knows (${known}): an instance of a ` +
      'newer release migrated it. Stop this instance and run the newer release; until then its writes may fail ' +
      '(docs/postgres.md, "Upgrading")',
    ),
  });
  try {
    return await assemble(options, store, logger);
  } catch (err) {
    // The store is all that is open yet: nothing listens, and no timer or background work has started.
    await store.close().catch((closeErr: unknown) => logger.warn({ err: closeErr }, 'closing the database failed'));
    throw err;
  }
}

/**
 * For the CLI, which gives up on a server that cannot listen: listens, or closes the server (its store would keep
 * the process alive) and rethrows the error of listen().
 */
export async function listenOrClose(server: CosyncServer): Promise<string> {
  try {
    return await server.listen();
  } catch (err) {
    await server.close()
      .catch((closeErr: unknown) => server.services.logger.warn({ err: closeErr }, 'closing the server failed'));
    throw err;
  }
}

/** The services every operation gets, on `store`. Throws on a configuration the server cannot serve. */
async function buildServices(options: ServerOptions, store: SyncStore, logger: Logger): Promise<Services> {
  const { config } = options;
  const secret = await store.getOrCreateSecret('sync-session-key', () => randomBytes(32).toString('base64'));
  const clock = options.clock ?? systemClock;
  const hooks = new HookRunner(options.hooks ?? [], logger);
  return {
    config,
    store,
    clock,
    ids: options.ids ?? randomIds,
    hooks,
    bulkPublishRuns: new BulkPublishRuns({ store, clock, hooks, logger, region: config.region }),
    triggers: new SyncTriggers({ config, store, clock, logger }),
    logger,
    accountId: options.developerCredentials.accountId,
    sessionKey: Buffer.from(secret, 'base64'),
    keys: options.serverKeys,
    loginVerifier: new LoginVerifier(config.loginProviders),
    urls: { issuer: config.publicUrl ?? `http://${config.host}:${config.port}` },
  };
}

/** The server on an open `store`; its close() closes the store unless the caller passed it in (options.store). */
async function assemble(options: ServerOptions, store: SyncStore, logger: Logger): Promise<CosyncServer> {
  const { config, developerCredentials } = options;
  const services = await buildServices(options, store, logger);
  const { clock } = services;
  const app = buildHttpApp({
    services,
    resolveCredentials: chainResolvers(
      developerResolver(developerCredentials),
      identityCredentialsResolver(services),
      ...(options.extraCredentials ? [options.extraCredentials] : []),
    ),
    syncOperations,
    identityOperations,
    limiter: new RateLimiter(config.throttle, clock, store),
  });
  const connections = trackConnections(app.server);
  const prune = setInterval(() => {
    store.pruneConsumedSessions(clock.now()).catch((err: unknown) => logger.warn({ err }, 'pruning sync sessions failed'));
  }, SESSION_PRUNE_INTERVAL_MS);
  prune.unref();
  let closing: Promise<void> | undefined;
  return {
    app,
    services,
    async listen() {
      let url: string;
      try {
        url = await app.listen({ host: config.host, port: config.port });
      } catch (err) {
        // A port in use or a host that does not resolve: say which settings to change, not only the system's code.
        const reason = err instanceof Error ? err.message : String(err);
        const where = `${config.host} port ${config.port}`;
        throw new Error(`cannot listen on ${where} (--host, --port): ${reason}`, { cause: err });
      }
      // Listening on every IPv6 address, Fastify reports `[::]`, which no client can connect to: the loopback can, as
      // 127.0.0.1 stands for 0.0.0.0.
      url = url.replace(/^(https?:\/\/)\[::\](?=:\d+$)/, '$1[::1]');
      if (!config.publicUrl) services.urls.issuer = url;
      return url;
    },
    close() {
      closing ??= (async () => {
        clearInterval(prune);
        const stopDraining = connections.drain(config.http, logger);
        try {
          await app.close();
        } finally {
          stopDraining();
        }
        flushUnavailableLog(services.logger);
        await services.triggers.close();
        await services.bulkPublishRuns.close();
        if (!options.store) await store.close();
      })();
      return closing;
    },
  };
}

/**
 * Tries each resolver in turn until one knows the access key. Stays synchronous until a resolver answers with a
 * promise (the developer key is known without one).
 */
function chainResolvers(...resolvers: CredentialResolver[]): CredentialResolver {
  const from = (i: number, accessKeyId: string, sessionToken: string | undefined): ReturnType<CredentialResolver> => {
    for (; i < resolvers.length; i++) {
      const found = resolvers[i]!(accessKeyId, sessionToken);
      if (isPromiseLike(found)) {
        const next = i + 1;
        return found.then((value) => value ?? from(next, accessKeyId, sessionToken));
      }
      if (found) return found;
    }
    return undefined;
  };
  return (accessKeyId, sessionToken) => from(0, accessKeyId, sessionToken);
}

function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | undefined)?.then === 'function';
}

/**
 * Developer credentials act for the account that owns every pool. They are long-term: a request that pairs their
 * access key with a security token is not theirs (AWS answers UnrecognizedClientException, as for a key it does
 * not know).
 */
function developerResolver(creds: DeveloperCredentials): CredentialResolver {
  return (accessKeyId, sessionToken) =>
    accessKeyId === creds.accessKeyId && sessionToken === undefined
      ? {
          secretAccessKey: creds.secretAccessKey,
          principal: { kind: 'developer', accessKeyId, accountId: creds.accountId },
        }
      : undefined;
}
