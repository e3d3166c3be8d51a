import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import type { Clock, IdSource, Services } from './api/operation.js';
import { RateLimiter } from './api/throttle.js';
import { syncOperations } from './api/sync/index.js';
import { identityOperations } from './api/identity/index.js';
import { buildHttpApp } from './http/app.js';
import { HookRunner } from './hooks/hook-runner.js';
import type { SyncHooks } from './hooks/types.js';
import { createLogger, type Logger } from './logger.js';
import { openStore } from './storage/index.js';
import type { SyncStore } from './storage/store.js';
import type { CredentialResolver } from './auth/sigv4.js';

export interface DeveloperCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly accountId: string;
}

export interface ServerOptions {
  readonly config: Config;
  readonly developerCredentials: DeveloperCredentials;
  readonly clock?: Clock;
  readonly ids?: IdSource;
  readonly hooks?: readonly SyncHooks[];
  readonly logger?: Logger;
  /** An already open store (tests); otherwise one is opened from config.storage and closed by close(). */
  readonly store?: SyncStore;
  /**
   * Test seam: a further credential resolver, tried when the access key is not the developer key (e.g. to mint
   * identity principals before Cognito Identity issues credentials). Not wired to any CLI flag.
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
const randomIds: IdSource = { uuid: () => randomUUID(), random: (bytes) => randomBytes(bytes).toString('base64url') };
const SESSION_PRUNE_INTERVAL_MS = 10 * 60 * 1000;

/** Builds the server without listening, so tests and the CLI share one path. */
export async function createServer(options: ServerOptions): Promise<CosyncServer> {
  const { config, developerCredentials } = options;
  const logger = options.logger ?? createLogger(config.logLevel);
  const store = options.store ?? (await openStore(config.storage));
  const secret = await store.getOrCreateSecret('sync-session-key', () => randomBytes(32).toString('base64'));
  const clock = options.clock ?? systemClock;
  const services: Services = {
    config,
    store,
    clock,
    ids: options.ids ?? randomIds,
    hooks: new HookRunner(options.hooks ?? [], logger),
    logger,
    accountId: developerCredentials.accountId,
    sessionKey: Buffer.from(secret, 'base64'),
  };
  const app = buildHttpApp({
    services,
    resolveCredentials: chainResolvers(developerResolver(developerCredentials), options.extraCredentials),
    syncOperations,
    identityOperations,
    limiter: new RateLimiter(config.throttle, clock),
  });
  const prune = setInterval(() => {
    store.pruneConsumedSessions(clock.now()).catch((err: unknown) => logger.warn({ err }, 'pruning sync sessions failed'));
  }, SESSION_PRUNE_INTERVAL_MS);
  prune.unref();
  let closing: Promise<void> | undefined;
  return {
    app,
    services,
    async listen() {
      return app.listen({ host: config.host, port: config.port });
    },
    close() {
      closing ??= (async () => {
        clearInterval(prune);
        await app.close();
        if (!options.store) await store.close();
      })();
      return closing;
    },
  };
}

/** Tries `first`, then `next` (when given) for access keys `first` does not know. */
function chainResolvers(first: CredentialResolver, next: CredentialResolver | undefined): CredentialResolver {
  if (!next) return first;
  return async (accessKeyId, sessionToken) => (await first(accessKeyId, sessionToken)) ?? next(accessKeyId, sessionToken);
}

/** Developer credentials act for the account that owns every pool. Identity credentials come in a later issue. */
function developerResolver(creds: DeveloperCredentials): CredentialResolver {
  return (accessKeyId) =>
    accessKeyId === creds.accessKeyId
      ? {
          secretAccessKey: creds.secretAccessKey,
          principal: { kind: 'developer', accessKeyId, accountId: creds.accountId },
        }
      : undefined;
}
