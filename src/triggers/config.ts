/**
 * Settings of Sync Triggers (SetCognitoEvents `SyncTrigger`): where Lambda functions are invoked, which webhook
 * hosts may be called and how calls are signed, which in-process modules exist, and the limits every trigger call
 * runs under. src/config.ts spreads SYNC_TRIGGER_SETTINGS into its SETTINGS; docs/configuration.md documents them.
 */
import { integer } from '../setting-values.js';

export interface SyncTriggerConfig {
  /** How long a trigger may take before UpdateRecords answers LambdaSocketTimeoutException (AWS: 5 s). */
  readonly timeoutMs: number;
  /** Trigger calls in flight at once on this instance; one more answers LambdaThrottledException. 0 = no limit. */
  readonly concurrency: number;
  readonly lambda: LambdaTargetConfig;
  readonly webhook: WebhookTargetConfig;
  /** `module:<name>` targets: name → path (or file URL) of an ES module, resolved against the working directory. */
  readonly modules: Readonly<Record<string, string>>;
}

export interface LambdaTargetConfig {
  /** A Lambda-compatible endpoint (e.g. http://127.0.0.1:9001); null = AWS Lambda of the function's region. */
  readonly endpoint: string | null;
  /** Region to sign for; null = the region in the function's ARN. */
  readonly region: string | null;
  /** Static credentials; both null = the AWS SDK's default chain (environment, profile, instance role …). */
  readonly accessKeyId: string | null;
  readonly secretAccessKey: string | null;
}

export interface WebhookTargetConfig {
  /**
   * Hosts webhook URLs may name: `host` (any port), `host:port`, or `*.example.com[:port]` (any subdomain).
   * Empty = webhooks are refused.
   */
  readonly allowedHosts: readonly string[];
  /** HMAC-SHA256 key for the `X-Cosync-Signature` header; required when allowedHosts is not empty. */
  readonly signingSecret: string | null;
}

export function defaultSyncTriggerConfig(): SyncTriggerConfig {
  return {
    timeoutMs: 5000,
    concurrency: 100,
    lambda: { endpoint: null, region: null, accessKeyId: null, secretAccessKey: null },
    webhook: { allowedHosts: [], signingSecret: null },
    modules: {},
  };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends object ? Mutable<T[K]> : T[K] };

/** The slice of the config draft these settings write (structurally part of src/config.ts's Draft). */
interface Draft {
  syncTriggers: Mutable<SyncTriggerConfig>;
}

interface Setting {
  readonly flag: string;
  readonly env: string;
  /** The default `cosync help` shows, read from defaults with defaultSyncTriggerConfig() (see src/config.ts). */
  readonly default: (defaults: { readonly syncTriggers: SyncTriggerConfig }) => string | number | null;
  readonly apply: (draft: Draft, value: string) => void;
}

const MIN_SECRET_LENGTH = 16;
const SDK_CHAIN = "the AWS SDK's default chain";
const HOST_ENTRY = /^(\*\.)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d{1,5})?$|^\[[0-9a-f:.]+\](:\d{1,5})?$/;
const MODULE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** `a.example.com, b.example.com:8443, *.hooks.example.com` → normalised entries. */
export function parseAllowedHosts(value: string): string[] {
  return value.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '').map((entry) => {
    if (!HOST_ENTRY.test(entry)) {
      throw new Error(`--sync-trigger-webhook-hosts: '${entry}' is not a host, host:port or *.domain entry`);
    }
    return entry;
  });
}

/** `name=path[,name=path…]` → { name: path }. */
export function parseModules(value: string): Record<string, string> {
  const modules: Record<string, string> = {};
  for (const part of value.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const eq = part.indexOf('=');
    const name = eq === -1 ? '' : part.slice(0, eq).trim();
    const path = eq === -1 ? '' : part.slice(eq + 1).trim();
    if (!MODULE_NAME.test(name) || path === '') {
      throw new Error(`--sync-trigger-modules must look like name=path[,name=path…] (names: A-Z a-z 0-9 _ . -), got '${part}'`);
    }
    if (Object.hasOwn(modules, name)) throw new Error(`--sync-trigger-modules names '${name}' twice`);
    modules[name] = path;
  }
  return modules;
}

export const SYNC_TRIGGER_SETTINGS: readonly Setting[] = [
  { flag: 'sync-trigger-timeout-ms', env: 'COSYNC_SYNC_TRIGGER_TIMEOUT_MS', default: (c) => c.syncTriggers.timeoutMs, apply: (d, v) => {
    d.syncTriggers.timeoutMs = integer('--sync-trigger-timeout-ms', v, 1, 900_000);
  } },
  { flag: 'sync-trigger-concurrency', env: 'COSYNC_SYNC_TRIGGER_CONCURRENCY', default: (c) => c.syncTriggers.concurrency, apply: (d, v) => {
    d.syncTriggers.concurrency = integer('--sync-trigger-concurrency', v, 0, 1_000_000);
  } },
  { flag: 'lambda-endpoint', env: 'COSYNC_LAMBDA_ENDPOINT', default: (c) => c.syncTriggers.lambda.endpoint ?? 'AWS Lambda', apply: (d, v) => {
    if (!/^https?:\/\/[^/]+/.test(v)) throw new Error(`--lambda-endpoint must be an http(s) URL, got '${v}'`);
    d.syncTriggers.lambda.endpoint = v.replace(/\/+$/, '');
  } },
  { flag: 'lambda-region', env: 'COSYNC_LAMBDA_REGION', default: (c) => c.syncTriggers.lambda.region ?? "the ARN's region", apply: (d, v) => {
    if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(v)) throw new Error(`--lambda-region must look like us-east-1, got '${v}'`);
    d.syncTriggers.lambda.region = v;
  } },
  // Help shows no credentials: defaults have none, and a key does not belong in a help text.
  { flag: 'lambda-access-key-id', env: 'COSYNC_LAMBDA_ACCESS_KEY_ID',
    default: (c) => (c.syncTriggers.lambda.accessKeyId === null ? SDK_CHAIN : 'set'),
    apply: (d, v) => { d.syncTriggers.lambda.accessKeyId = v; } },
  { flag: 'lambda-secret-access-key', env: 'COSYNC_LAMBDA_SECRET_ACCESS_KEY',
    default: (c) => (c.syncTriggers.lambda.secretAccessKey === null ? SDK_CHAIN : 'set'),
    apply: (d, v) => { d.syncTriggers.lambda.secretAccessKey = v; } },
  { flag: 'sync-trigger-webhook-hosts', env: 'COSYNC_SYNC_TRIGGER_WEBHOOK_HOSTS',
    default: (c) => c.syncTriggers.webhook.allowedHosts.join(',') || null, apply: (d, v) => {
    d.syncTriggers.webhook.allowedHosts = parseAllowedHosts(v);
  } },
  { flag: 'sync-trigger-webhook-secret', env: 'COSYNC_SYNC_TRIGGER_WEBHOOK_SECRET',
    default: (c) => (c.syncTriggers.webhook.signingSecret === null ? null : 'set'), apply: (d, v) => {
    if (v.length < MIN_SECRET_LENGTH) throw new Error(`--sync-trigger-webhook-secret must have at least ${MIN_SECRET_LENGTH} characters`);
    d.syncTriggers.webhook.signingSecret = v;
  } },
  { flag: 'sync-trigger-modules', env: 'COSYNC_SYNC_TRIGGER_MODULES',
    default: (c) => Object.entries(c.syncTriggers.modules).map(([name, path]) => `${name}=${path}`).join(',') || null,
    apply: (d, v) => { d.syncTriggers.modules = parseModules(v); } },
];

/**
 * Checks that need several settings together; createServer calls it, so a bad combination stops the server at
 * start rather than at the first UpdateRecords.
 */
export function checkSyncTriggerConfig(c: SyncTriggerConfig): void {
  if ((c.lambda.accessKeyId === null) !== (c.lambda.secretAccessKey === null)) {
    throw new Error('set both --lambda-access-key-id and --lambda-secret-access-key, or neither');
  }
  if (c.webhook.allowedHosts.length > 0 && c.webhook.signingSecret === null) {
    throw new Error('--sync-trigger-webhook-hosts needs --sync-trigger-webhook-secret, so receivers can verify calls');
  }
}
