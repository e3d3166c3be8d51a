import type { SyncTriggerConfig } from './config.js';

/**
 * What a pool's `SyncTrigger` value names. Three kinds, told apart by the value's form:
 * - `arn:aws:lambda:<region>:<account>:function:<name>[:<version or alias>]`: a Lambda function, invoked through the
 *   AWS SDK's Lambda client (AWS Lambda, or the Lambda-compatible endpoint configured with --lambda-endpoint);
 * - `https://…` or `http://…`: a webhook, allowed only for hosts on --sync-trigger-webhook-hosts;
 * - `module:<name>`: an in-process module the server's own configuration maps `<name>` to (--sync-trigger-modules).
 *   The API only ever names a module; which code that is, only the operator decides.
 */
export type TriggerTarget =
  | { readonly kind: 'lambda'; readonly arn: string; readonly region: string }
  | { readonly kind: 'webhook'; readonly url: URL }
  | { readonly kind: 'module'; readonly name: string };

const LAMBDA_ARN = /^arn:(aws[a-z-]*):lambda:([a-z]{2}(?:-[a-z]+)+-\d+):(\d{12}):function:([A-Za-z0-9_-]{1,64})(?::(\$LATEST|[A-Za-z0-9_-]{1,128}))?$/;
const MODULE_REF = /^module:([A-Za-z0-9_.-]{1,64})$/;

/** Parses a stored or requested value; the error text says what is wrong (it becomes an API message). */
export function parseTriggerTarget(value: string, config: SyncTriggerConfig): TriggerTarget | { readonly error: string } {
  if (value.startsWith('arn:')) {
    const m = LAMBDA_ARN.exec(value);
    if (!m) {
      return { error: `'${value}' is not a Lambda function ARN (arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>])` };
    }
    return { kind: 'lambda', arn: value, region: m[2] ?? '' };
  }
  if (/^https?:\/\//i.test(value)) {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return { error: `'${value}' is not a valid URL` };
    }
    if (url.username !== '' || url.password !== '') return { error: 'a webhook URL must not carry credentials' };
    if (!hostAllowed(url, config.webhook.allowedHosts)) {
      return { error: `webhook host '${url.host}' is not on this server's allow-list (--sync-trigger-webhook-hosts)` };
    }
    return { kind: 'webhook', url };
  }
  if (value.startsWith('module:')) {
    const m = MODULE_REF.exec(value);
    const name = m?.[1];
    if (name === undefined || !Object.hasOwn(config.modules, name)) {
      return { error: `'${value}' names no module this server is configured with (--sync-trigger-modules)` };
    }
    return { kind: 'module', name };
  }
  return {
    error: `'${value}' is not a Sync Trigger: use a Lambda function ARN, an allowed https:// or http:// webhook URL, or module:<name>`,
  };
}

/**
 * True when the URL's host is allowed: an entry `host` allows any port, `host:port` that port only (the scheme's
 * default port when the URL names none), `*.domain[:port]` any subdomain of domain.
 */
export function hostAllowed(url: URL, allowedHosts: readonly string[]): boolean {
  const host = url.hostname.toLowerCase();
  const port = url.port !== '' ? url.port : url.protocol === 'https:' ? '443' : '80';
  return allowedHosts.some((entry) => {
    const m = /^(.*?)(?::(\d+))?$/.exec(entry);
    const entryHost = m?.[1] ?? entry;
    const entryPort = m?.[2];
    const hostMatches = entryHost.startsWith('*.') ? host.endsWith(entryHost.slice(1)) : entryHost === host;
    return hostMatches && (entryPort === undefined || entryPort === port);
  });
}
