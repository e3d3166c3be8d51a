import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { parseLoginProvidersConfig, type LoginProvidersConfig } from './auth/login-providers.js';
import { integer } from './setting-values.js';
import { defaultSyncTriggerConfig, SYNC_TRIGGER_SETTINGS, type SyncTriggerConfig } from './triggers/config.js';

/**
 * Server configuration. Every setting has a command-line flag and an environment variable (flag wins);
 * docs/configuration.md and `cosync help` list them with their defaults. Operators and scripts rely on these names.
 */
export interface Config {
  readonly host: string;
  readonly port: number;
  /** Folder for the embedded database and the generated developer credentials. */
  readonly dataDir: string;
  readonly region: string;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /**
   * Server processes sharing the port (node:cluster): 1 serves from the `cosync serve` process itself; more fork
   * that many workers, one per core being the useful most (docs/configuration.md).
   */
  readonly workers: number;
  readonly storage: StorageConfig;
  readonly limits: Limits;
  readonly throttle: ThrottleConfig;
  /** Lifetime of a SyncSessionToken issued by ListRecords. */
  readonly syncSessionTtlSeconds: number;
  /** Largest request body accepted; larger bodies get 413 RequestEntityTooLargeException. */
  readonly maxBodyBytes: number;
  /**
   * Most open connections per server process, or null for no cap. One beyond it is closed as soon as it is
   * accepted; the SDKs retry such a connection. Bounds the memory clients can hold before they authenticate.
   */
  readonly maxConnections: number | null;
  /** How long slow or silent clients may hold a connection (docs/configuration.md). */
  readonly http: HttpTimeouts;
  /** Lifetime of the temporary credentials GetCredentialsForIdentity issues (AWS: one hour at most). */
  readonly credentialsTtlSeconds: number;
  /**
   * The URL clients and relying parties reach this server at: the `iss` of Cosync's OpenID tokens and the base of
   * its discovery document. Default: the address it listens on.
   */
  readonly publicUrl: string | null;
  /** OpenID Connect issuers whose tokens identity pools accept as logins (see docs/configuration.md). */
  readonly loginProviders: LoginProvidersConfig;
  /** Sync Triggers: Lambda endpoint, webhook allow-list and signing, in-process modules, timeout, concurrency. */
  readonly syncTriggers: SyncTriggerConfig;
}

/** The embedded SQLite file (one instance), or a PostgreSQL database shared by any number of instances. */
export type StorageConfig = SqliteStorageConfig | PostgresStorageConfig;
export interface SqliteStorageConfig {
  readonly engine: 'sqlite';
  readonly file: string;
  readonly synchronous: 'FULL' | 'NORMAL';
  /** exclusive: this process alone opens the file while it runs (the default with one process); shared: --workers. */
  readonly locking: 'exclusive' | 'shared';
}
export interface PostgresStorageConfig {
  readonly engine: 'postgres';
  /** postgres://user:password@host:port/database; it may hold a password, so it is never logged. */
  readonly url: string;
  /** Most connections per instance. */
  readonly poolSize: number;
  /** Milliseconds a statement (lock waits included) may run; 0 = no limit. */
  readonly statementTimeoutMs: number;
  /** Milliseconds to wait for a connection before a request fails. */
  readonly connectTimeoutMs: number;
}

/** Cognito Sync quotas (SPEC §6); AWS let customers raise them, so they are configurable. */
export interface Limits {
  readonly maxDatasetsPerIdentity: number;
  readonly maxRecordsPerDataset: number;
  /** Bytes of keys and values (UTF-8) per dataset; 1 MB as the iOS client counts it (1,048,576). */
  readonly maxDatasetBytes: number;
  /** Largest page a list operation returns, whatever maxResults asks. */
  readonly maxPageSize: number;
}

/**
 * Timeouts of the HTTP edge, in milliseconds, so a client that trickles its headers, never finishes its body or
 * holds a connection open doing nothing cannot pin a socket and its memory for long.
 */
export interface HttpTimeouts {
  /** From a request's first byte to the end of its headers (Node `headersTimeout`); then 408 and close. */
  readonly headersTimeoutMs: number;
  /** From a request's first byte to the end of its body (Node `requestTimeout`); then 408 and close. */
  readonly requestTimeoutMs: number;
  /** An open connection with no bytes moving in either direction, at any point (the socket timeout); then closed. */
  readonly idleTimeoutMs: number;
  /** A keep-alive connection waiting for its next request (Node `keepAliveTimeout`); then closed. */
  readonly keepAliveTimeoutMs: number;
}

/** Token buckets per identity and per identity pool; a rate of 0 switches that bucket off. Per instance. */
export interface ThrottleConfig {
  readonly identityRatePerSecond: number;
  readonly identityBurst: number;
  readonly poolRatePerSecond: number;
  readonly poolBurst: number;
}

interface Setting {
  readonly flag: string;
  readonly env: string;
  /**
   * The setting's default as `cosync help` shows it, read from the defaults loadConfig starts from (it is given
   * defaultConfig()) or from the constant the parser falls back to; null shows as none. Where the default is a
   * fallback rather than a value (the listening address), words saying which.
   */
  readonly default: (defaults: Config) => string | number | null;
  readonly apply: (draft: Draft, value: string) => void;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends object ? Mutable<T[K]> : T[K] };
type Draft = Mutable<Config> & StorageDraft;
/** Storage settings as given; loadConfig picks the engine from them once all are read. */
interface StorageDraft {
  sqliteFile?: string;
  sqliteSynchronous?: 'FULL' | 'NORMAL';
  sqliteLocking?: 'exclusive' | 'shared';
  databaseUrl?: string;
  pgPoolSize?: number;
  pgStatementTimeoutMs?: number;
  pgConnectTimeoutMs?: number;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/**
 * The most --max-body-bytes may allow: a body is held whole in memory before it is checked, by anyone able to send
 * one (signatures are checked after). With the default dataset limit (1 MiB), the largest valid request, a full
 * dataset's patch list with every character escaped, stays well under it; a --max-dataset-bytes above about 10 MiB
 * can hold datasets no single request can fill.
 */
const MAX_BODY_BYTES_CAP = 64 * 1024 * 1024;
/**
 * The most --workers: four per core, or 64 on a machine (or a pinned container) with fewer than 16. More workers than
 * cores only add memory and lock contention, but one setting is often shared by hosts of several sizes; the bound is
 * for typos (80 for 8), which forked until memory ran out.
 */
const maxWorkers = (): number => Math.max(64, 4 * availableParallelism());

/** A file a setting names, read whole; an error names the setting, the path and why. */
function readSettingFile(name: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err));
    throw new Error(`${name} must be inline JSON (starting with '{') or a readable JSON file; cannot read '${path}': ${reason}`);
  }
}

const number = (name: string, value: string): number => {
  const n = Number(value);
  if (!/^\+?\d+(\.\d+)?$/.test(value) || !Number.isFinite(n) || n < 0) {
    throw new Error(`${name} must be a number >= 0, got '${value}'`);
  }
  return n;
};

export const SETTINGS: readonly Setting[] = [
  { flag: 'host', env: 'COSYNC_HOST', default: (c) => c.host, apply: (d, v) => { d.host = v; } },
  { flag: 'port', env: 'COSYNC_PORT', default: (c) => c.port, apply: (d, v) => { d.port = integer('--port', v, 0, 65535); } },
  { flag: 'data', env: 'COSYNC_DATA', default: (c) => c.dataDir, apply: (d, v) => { d.dataDir = v; } },
  { flag: 'region', env: 'COSYNC_REGION', default: (c) => c.region, apply: (d, v) => {
    if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(v)) throw new Error(`--region must look like us-east-1, got '${v}'`);
    d.region = v;
  } },
  { flag: 'log-level', env: 'COSYNC_LOG_LEVEL', default: (c) => c.logLevel, apply: (d, v) => {
    if (!(LOG_LEVELS as readonly string[]).includes(v)) {
      throw new Error(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got '${v}'`);
    }
    d.logLevel = v as Config['logLevel'];
  } },
  { flag: 'workers', env: 'COSYNC_WORKERS', default: (c) => c.workers, apply: (d, v) => {
    d.workers = v === 'auto' ? availableParallelism() : integer('--workers (or auto)', v, 1, maxWorkers());
  } },
  { flag: 'sqlite-file', env: 'COSYNC_SQLITE_FILE', default: () => `<data>/${SQLITE_FILE_NAME}`, apply: (d, v) => { d.sqliteFile = v; } },
  { flag: 'sqlite-synchronous', env: 'COSYNC_SQLITE_SYNCHRONOUS', default: (c) => sqliteDefaults(c).synchronous, apply: (d, v) => {
    if (v !== 'FULL' && v !== 'NORMAL') throw new Error(`--sqlite-synchronous must be FULL or NORMAL, got '${v}'`);
    d.sqliteSynchronous = v;
  } },
  { flag: 'sqlite-locking', env: 'COSYNC_SQLITE_LOCKING', default: (c) => `${sqliteDefaults(c).locking} (shared with --workers above 1)`,
    apply: (d, v) => {
      if (v !== 'exclusive' && v !== 'shared') throw new Error(`--sqlite-locking must be exclusive or shared, got '${v}'`);
      d.sqliteLocking = v;
    } },
  { flag: 'database', env: 'DATABASE_URL', default: (c) => (c.storage.engine === 'sqlite' ? 'none: SQLite' : null), apply: (d, v) => {
    if (!/^postgres(ql)?:\/\//.test(v)) throw new Error('--database must be a postgres:// or postgresql:// URL');
    d.databaseUrl = v;
  } },
  { flag: 'pg-pool-size', env: 'COSYNC_PG_POOL_SIZE', default: () => POSTGRES_DEFAULTS.poolSize,
    apply: (d, v) => { d.pgPoolSize = integer('--pg-pool-size', v, 1); } },
  { flag: 'pg-statement-timeout', env: 'COSYNC_PG_STATEMENT_TIMEOUT', default: () => POSTGRES_DEFAULTS.statementTimeoutMs,
    apply: (d, v) => { d.pgStatementTimeoutMs = integer('--pg-statement-timeout', v, 0); } },
  { flag: 'pg-connect-timeout', env: 'COSYNC_PG_CONNECT_TIMEOUT', default: () => POSTGRES_DEFAULTS.connectTimeoutMs,
    apply: (d, v) => { d.pgConnectTimeoutMs = integer('--pg-connect-timeout', v, 1); } },
  { flag: 'max-datasets-per-identity', env: 'COSYNC_MAX_DATASETS_PER_IDENTITY', default: (c) => c.limits.maxDatasetsPerIdentity,
    apply: (d, v) => { d.limits.maxDatasetsPerIdentity = integer('--max-datasets-per-identity', v, 1); } },
  { flag: 'max-records-per-dataset', env: 'COSYNC_MAX_RECORDS_PER_DATASET', default: (c) => c.limits.maxRecordsPerDataset,
    apply: (d, v) => { d.limits.maxRecordsPerDataset = integer('--max-records-per-dataset', v, 1); } },
  { flag: 'max-dataset-bytes', env: 'COSYNC_MAX_DATASET_BYTES', default: (c) => c.limits.maxDatasetBytes,
    apply: (d, v) => { d.limits.maxDatasetBytes = integer('--max-dataset-bytes', v, 1); } },
  { flag: 'max-page-size', env: 'COSYNC_MAX_PAGE_SIZE', default: (c) => c.limits.maxPageSize,
    apply: (d, v) => { d.limits.maxPageSize = integer('--max-page-size', v, 1); } },
  { flag: 'throttle-identity-rps', env: 'COSYNC_THROTTLE_IDENTITY_RPS', default: (c) => c.throttle.identityRatePerSecond,
    apply: (d, v) => { d.throttle.identityRatePerSecond = number('--throttle-identity-rps', v); } },
  { flag: 'throttle-identity-burst', env: 'COSYNC_THROTTLE_IDENTITY_BURST', default: (c) => c.throttle.identityBurst,
    apply: (d, v) => { d.throttle.identityBurst = integer('--throttle-identity-burst', v, 1); } },
  { flag: 'throttle-pool-rps', env: 'COSYNC_THROTTLE_POOL_RPS', default: (c) => c.throttle.poolRatePerSecond,
    apply: (d, v) => { d.throttle.poolRatePerSecond = number('--throttle-pool-rps', v); } },
  { flag: 'throttle-pool-burst', env: 'COSYNC_THROTTLE_POOL_BURST', default: (c) => c.throttle.poolBurst,
    apply: (d, v) => { d.throttle.poolBurst = integer('--throttle-pool-burst', v, 1); } },
  { flag: 'sync-session-ttl', env: 'COSYNC_SYNC_SESSION_TTL', default: (c) => c.syncSessionTtlSeconds,
    apply: (d, v) => { d.syncSessionTtlSeconds = integer('--sync-session-ttl', v, 1); } },
  { flag: 'max-body-bytes', env: 'COSYNC_MAX_BODY_BYTES', default: (c) => c.maxBodyBytes, apply: (d, v) => {
    d.maxBodyBytes = integer('--max-body-bytes', v, 1024, MAX_BODY_BYTES_CAP);
  } },
  { flag: 'max-connections', env: 'COSYNC_MAX_CONNECTIONS', default: (c) => c.maxConnections,
    apply: (d, v) => { d.maxConnections = integer('--max-connections', v, 1); } },
  { flag: 'http-headers-timeout-ms', env: 'COSYNC_HTTP_HEADERS_TIMEOUT_MS', default: (c) => c.http.headersTimeoutMs,
    apply: (d, v) => { d.http.headersTimeoutMs = integer('--http-headers-timeout-ms', v, 1); } },
  { flag: 'http-request-timeout-ms', env: 'COSYNC_HTTP_REQUEST_TIMEOUT_MS', default: (c) => c.http.requestTimeoutMs,
    apply: (d, v) => { d.http.requestTimeoutMs = integer('--http-request-timeout-ms', v, 1); } },
  { flag: 'http-idle-timeout-ms', env: 'COSYNC_HTTP_IDLE_TIMEOUT_MS', default: (c) => c.http.idleTimeoutMs,
    apply: (d, v) => { d.http.idleTimeoutMs = integer('--http-idle-timeout-ms', v, 1); } },
  { flag: 'http-keep-alive-timeout-ms', env: 'COSYNC_HTTP_KEEP_ALIVE_TIMEOUT_MS', default: (c) => c.http.keepAliveTimeoutMs,
    apply: (d, v) => { d.http.keepAliveTimeoutMs = integer('--http-keep-alive-timeout-ms', v, 1); } },
  { flag: 'credentials-ttl', env: 'COSYNC_CREDENTIALS_TTL', default: (c) => c.credentialsTtlSeconds,
    apply: (d, v) => { d.credentialsTtlSeconds = integer('--credentials-ttl', v, 60); } },
  { flag: 'public-url', env: 'COSYNC_PUBLIC_URL', default: (c) => c.publicUrl ?? 'the listening address', apply: (d, v) => {
    if (!/^https?:\/\/[^/]+/.test(v) || !URL.canParse(v)) throw new Error(`--public-url must be an http(s) URL, got '${v}'`);
    d.publicUrl = v.replace(/\/+$/, '');
  } },
  { flag: 'login-providers', env: 'COSYNC_LOGIN_PROVIDERS',
    default: (c) => (Object.keys(c.loginProviders).length === 0 ? null : JSON.stringify(c.loginProviders)), apply: (d, v) => {
      // Inline JSON, or the path of a JSON file.
      d.loginProviders = parseLoginProvidersConfig(v.trim().startsWith('{') ? v : readSettingFile('--login-providers', v)) as Draft['loginProviders'];
    } },
  ...SYNC_TRIGGER_SETTINGS,
];

/** The name of the SQLite file in the data folder, unless --sqlite-file names another. */
const SQLITE_FILE_NAME = 'cosync.sqlite';
/** The PostgreSQL settings --database (DATABASE_URL) comes with, unless given. */
const POSTGRES_DEFAULTS = { poolSize: 10, statementTimeoutMs: 5000, connectTimeoutMs: 5000 } as const;

/** The SQLite part of the defaults: defaultConfig() keeps the data in SQLite. */
function sqliteDefaults(defaults: Config): Omit<SqliteStorageConfig, 'engine'> {
  if (defaults.storage.engine !== 'sqlite') throw new Error('the default storage is SQLite');
  return defaults.storage;
}

export function defaultConfig(): Config {
  return {
    host: '127.0.0.1',
    port: 8080,
    dataDir: './cosync-data',
    region: 'us-east-1',
    logLevel: 'info',
    workers: 1,
    storage: { engine: 'sqlite', file: '', synchronous: 'FULL', locking: 'exclusive' },
    limits: { maxDatasetsPerIdentity: 20, maxRecordsPerDataset: 1024, maxDatasetBytes: 1024 * 1024, maxPageSize: 1024 },
    throttle: { identityRatePerSecond: 50, identityBurst: 100, poolRatePerSecond: 2000, poolBurst: 4000 },
    syncSessionTtlSeconds: 3600,
    // A 1 MiB value may be escaped to six bytes per character in JSON; leave room for a full patch list.
    maxBodyBytes: 8 * 1024 * 1024,
    maxConnections: null,
    // A whole 8 MiB body at 150 KB/s fits in the request timeout; keep-alive outlasts the 60 s idle timeout of
    // common load balancers, so they, not the server, close idle connections first.
    http: { headersTimeoutMs: 10_000, requestTimeoutMs: 60_000, idleTimeoutMs: 70_000, keepAliveTimeoutMs: 72_000 },
    credentialsTtlSeconds: 3600,
    publicUrl: null,
    loginProviders: {},
    syncTriggers: defaultSyncTriggerConfig(),
  };
}

/** Parses `--name value` / `--name=value` flags over environment variables over defaults. */
export function loadConfig(args: readonly string[], env: NodeJS.ProcessEnv, overrides: Partial<Config> = {}): Config {
  const draft = structuredClone({ ...defaultConfig(), ...overrides }) as Draft;
  const flags = flagValues(args);
  // A flag wins over its variable, which is then not read at all: a bad value there does not stop a start that
  // overrides it.
  for (const s of SETTINGS) {
    const flag = flags.get(s.flag);
    if (flag !== undefined) {
      s.apply(draft, flag);
      continue;
    }
    const v = env[s.env];
    if (v === undefined || v === '') continue;
    try {
      s.apply(draft, v);
    } catch (error) {
      throw new Error(`${s.env}: ${(error as Error).message}`, { cause: error });
    }
  }
  const { sqliteFile: _f, sqliteSynchronous: _s, sqliteLocking: _l, databaseUrl: _u, pgPoolSize: _p, pgStatementTimeoutMs: _t, pgConnectTimeoutMs: _c, ...config } = draft;
  config.dataDir = resolve(config.dataDir);
  config.storage = storageConfig(config.storage, config.dataDir, draft, config.workers);
  // node:cluster hands a connection a worker refuses to another worker, and on and on: the connection is never
  // answered, and the handing round burns a core.
  if (config.maxConnections !== null && config.workers > 1) {
    throw new Error('--max-connections cannot be used with --workers above 1: cap connections in front of the workers');
  }
  return config;
}

/** The value of each flag given (`--name value` or `--name=value`; the last of a repeated flag). */
function flagValues(args: readonly string[]): Map<string, string> {
  const known = new Set(SETTINGS.map((s) => s.flag));
  const values = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (!arg.startsWith('--')) throw new Error(`unexpected argument '${arg}'`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    if (!known.has(name)) throw new Error(`unknown option --${name}`);
    const value = eq === -1 ? args[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new Error(`--${name} needs a value`);
    // An empty value is a mistake, most often an unset shell variable (`--host "$BIND"`): taken as given, it would
    // listen on every interface, or put the data in the working folder.
    if (value.trim() === '') throw new Error(`--${name} needs a value, got an empty one`);
    values.set(name, value);
  }
  return values;
}

/**
 * PostgreSQL is chosen by --database (DATABASE_URL), or by an override that already says postgres. SQLite workers
 * share the file, so with more than one the locking is shared unless told otherwise, and exclusive is refused.
 */
function storageConfig(base: StorageConfig, dataDir: string, d: StorageDraft, workers: number): StorageConfig {
  if (d.databaseUrl === undefined && base.engine === 'sqlite') {
    if (workers > 1 && d.sqliteLocking === 'exclusive') {
      throw new Error('--sqlite-locking exclusive cannot be used with --workers above 1: the workers share the database file');
    }
    return {
      engine: 'sqlite',
      file: d.sqliteFile ?? resolve(dataDir, SQLITE_FILE_NAME),
      synchronous: d.sqliteSynchronous ?? base.synchronous,
      locking: d.sqliteLocking ?? (workers > 1 ? 'shared' : base.locking),
    };
  }
  if (d.sqliteLocking !== undefined) throw new Error('--sqlite-locking and --database (DATABASE_URL) exclude each other');
  if (d.sqliteFile !== undefined) throw new Error('--sqlite-file and --database (DATABASE_URL) exclude each other');
  const pg = base.engine === 'postgres' ? base : { url: '', ...POSTGRES_DEFAULTS };
  return {
    engine: 'postgres',
    url: d.databaseUrl ?? pg.url,
    poolSize: d.pgPoolSize ?? pg.poolSize,
    statementTimeoutMs: d.pgStatementTimeoutMs ?? pg.statementTimeoutMs,
    connectTimeoutMs: d.pgConnectTimeoutMs ?? pg.connectTimeoutMs,
  };
}
