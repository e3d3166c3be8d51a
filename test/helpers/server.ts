import { CognitoSyncClient } from '@aws-sdk/client-cognito-sync';
import {
  CognitoIdentityClient, CreateIdentityPoolCommand, GetIdCommand, type CreateIdentityPoolInput,
} from '@aws-sdk/client-cognito-identity';
import { defaultConfig, type Config, type PostgresStorageConfig, type SqliteStorageConfig } from '../../src/config.js';
import { createServer, type CosyncServer } from '../../src/server.js';
import type { Clock } from '../../src/api/operation.js';
import type { SyncHooks } from '../../src/hooks/types.js';
import type { CredentialResolver } from '../../src/auth/sigv4.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { serverKeys, type ServerKeys } from '../../src/auth/server-keys.js';

export const TEST_CREDENTIALS = {
  accessKeyId: 'AKIACOSYNCTESTKEY001',
  secretAccessKey: 'cosync-test-secret-access-key/0123456789',
  accountId: '123456789012',
};

/** Fixed server keys, so tests can reason about what one server issues and another accepts. */
export const TEST_SERVER_KEYS = serverKeys([{ id: 'test1', secret: Buffer.alloc(32, 1) }]);

export interface TestServer {
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: { accessKeyId: string; secretAccessKey: string };
  readonly server: CosyncServer;
  readonly services: CosyncServer['services'];
  close(): Promise<void>;
}

export interface TestServerOptions {
  readonly config?: Partial<Omit<Config, 'limits' | 'throttle' | 'storage'>> & {
    limits?: Partial<Config['limits']>;
    throttle?: Partial<Config['throttle']>;
    /** Default: in-memory SQLite; a partial SQLite config overrides parts of it; a PostgreSQL config is used as is. */
    storage?: Partial<SqliteStorageConfig> | PostgresStorageConfig;
  };
  readonly clock?: Clock;
  readonly hooks?: readonly SyncHooks[];
  /** Server keys (default TEST_SERVER_KEYS); two servers with the same keys accept each other's credentials. */
  readonly serverKeys?: ServerKeys;
  /** Extra credentials tried after the developer key (e.g. identity principals, see ServerOptions.extraCredentials). */
  readonly credentials?: CredentialResolver;
  /** A logger to capture the server's log lines (default: pino at COSYNC_TEST_LOG or silent, on stdout). */
  readonly logger?: Logger;
  /** Developer credentials the server accepts instead of TEST_CREDENTIALS (e.g. to replay captured requests). */
  readonly developerCredentials?: { accessKeyId: string; secretAccessKey: string; accountId?: string };
}

/** Starts a real server on 127.0.0.1, port 0, with an in-memory SQLite store (unless told otherwise) and throttling off. */
export async function startServer(options: TestServerOptions = {}): Promise<TestServer> {
  const base = defaultConfig();
  const o = options.config ?? {};
  const config: Config = {
    ...base,
    ...o,
    host: '127.0.0.1',
    port: 0,
    logLevel: (process.env['COSYNC_TEST_LOG'] as Config['logLevel'] | undefined) ?? 'silent',
    limits: { ...base.limits, ...o.limits },
    throttle: { identityRatePerSecond: 0, identityBurst: 1, poolRatePerSecond: 0, poolBurst: 1, ...o.throttle },
    storage: o.storage?.engine === 'postgres' ? o.storage : { engine: 'sqlite', file: ':memory:', synchronous: 'FULL', locking: 'exclusive', ...o.storage },
  };
  const developerCredentials = options.developerCredentials
    ? { accountId: TEST_CREDENTIALS.accountId, ...options.developerCredentials }
    : TEST_CREDENTIALS;
  const server = await createServer({
    config,
    developerCredentials,
    serverKeys: options.serverKeys ?? TEST_SERVER_KEYS,
    logger: options.logger ?? createLogger(config.logLevel),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.hooks ? { hooks: options.hooks } : {}),
    ...(options.credentials ? { extraCredentials: options.credentials } : {}),
  });
  const endpoint = await server.listen();
  return {
    endpoint,
    region: config.region,
    credentials: { accessKeyId: developerCredentials.accessKeyId, secretAccessKey: developerCredentials.secretAccessKey },
    server,
    services: server.services,
    close: () => server.close(),
  };
}

/** Official v3 clients pointed at the test server, with retries off so error tests see one attempt. */
export function clients(t: TestServer, credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } = t.credentials) {
  const common = { endpoint: t.endpoint, region: t.region, credentials, maxAttempts: 1 };
  return { sync: new CognitoSyncClient(common), identity: new CognitoIdentityClient(common) };
}

/** A pool that allows guests, and one identity in it. */
export async function poolWithIdentity(t: TestServer, name = 'test_pool') {
  const { identity } = clients(t);
  const pool = await identity.send(new CreateIdentityPoolCommand({ IdentityPoolName: name, AllowUnauthenticatedIdentities: true }));
  const poolId = pool.IdentityPoolId ?? '';
  const { IdentityId } = await identity.send(new GetIdCommand({ IdentityPoolId: poolId }));
  return { poolId, identityId: IdentityId ?? '' };
}

/**
 * A maker of identity pools that allow guests: each call creates one named `<prefix>_<n>` (n counts this maker's
 * pools, so a failing test names the pool it made), with `extra` settings on top, through `client` (default: the
 * one `developer` answers at the time of the call), and answers the pool's ID.
 */
export function poolMaker(prefix: string, developer: () => CognitoIdentityClient) {
  let made = 0;
  return async (extra: Partial<CreateIdentityPoolInput> = {}, client = developer()): Promise<string> => {
    const out = await client.send(new CreateIdentityPoolCommand({
      IdentityPoolName: `${prefix}_${++made}`, AllowUnauthenticatedIdentities: true, ...extra,
    }));
    return out.IdentityPoolId ?? '';
  };
}

/** A controllable clock for expiry tests (no sleeping). */
export function manualClock(start = Date.UTC(2026, 10, 27, 12, 0, 0)): Clock & { advance(ms: number): void; set(ms: number): void } {
  let now = start;
  return { now: () => now, advance: (ms) => { now += ms; }, set: (ms) => { now = ms; } };
}
