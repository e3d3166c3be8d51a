/**
 * Turns a generated HostileRequestSpec into bytes: placeholders resolved for a target, members bound to path, query,
 * headers and body as the model says, the body bent as the spec says, then signed, mutated or transplanted.
 */
import { createHash } from 'node:crypto';
import type { BodyMode, HostileRequestSpec, Mutation } from './generators.js';
import { serialise, type WireRequest } from './wire.js';

/** What the placeholders stand for in one request. */
export interface Target {
  readonly pool: string;
  readonly identity: string;
  readonly dataset: string;
  readonly token: string;
}

export function rfc3986(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function safeEncode(text: string): string {
  try {
    return rfc3986(text);
  } catch {
    // Lone surrogates cannot be percent-encoded as UTF-8; send them the way a sloppy client would.
    return escape(text);
  }
}

/** Replaces the placeholders in every string of a JSON-like value (own `__proto__` keys kept as data). */
export function resolve(value: unknown, target: Target): unknown {
  if (typeof value === 'string') {
    return value.replaceAll('$POOL', target.pool).replaceAll('$IDENTITY', target.identity)
      .replaceAll('$DATASET', target.dataset).replaceAll('$TOKEN', target.token);
  }
  if (Array.isArray(value)) return value.map((v) => resolve(v, target));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      Object.defineProperty(out, resolve(k, target) as string, { value: resolve(v, target), enumerable: true, configurable: true, writable: true });
    }
    return out;
  }
  return value;
}

function labelText(spec: HostileRequestSpec, value: unknown): string {
  const text = typeof value === 'string' ? value : value === undefined ? '' : JSON.stringify(value) ?? '';
  switch (spec.labelEncoding) {
    case 'rfc3986': return safeEncode(text);
    case 'raw': return text;
    case 'badPercent': return `${safeEncode(text)}${spec.badPercent}`;
    case 'doubleEncoded': return safeEncode(safeEncode(text));
  }
}

function bodyBytes(mode: BodyMode, members: Record<string, unknown>, firstMember: string): Buffer {
  const text = JSON.stringify(members);
  switch (mode.kind) {
    case 'json': return Buffer.from(text, 'utf8');
    case 'truncated': return Buffer.from(text.slice(0, mode.at % Math.max(1, text.length)), 'utf8');
    case 'invalidUtf8': {
      const bytes = Buffer.from(text, 'utf8');
      const at = mode.at % Math.max(1, bytes.length);
      return Buffer.concat([bytes.subarray(0, at), Buffer.from(mode.bytes), bytes.subarray(at)]);
    }
    case 'deep': {
      const inner = mode.open === '[' ? `${'['.repeat(mode.depth)}${']'.repeat(mode.depth)}` : `${mode.open.repeat(mode.depth)}1${'}'.repeat(mode.depth)}`;
      return Buffer.from(`{"${firstMember}":${inner}}`, 'utf8');
    }
    case 'huge': return Buffer.from(`{"${firstMember}":"${'h'.repeat(mode.size)}"}`, 'utf8');
    case 'notObject': return Buffer.from(mode.text, 'utf8');
    case 'duplicateKeys': return Buffer.from(text === '{}' ? '{"a":1,"a":2}' : `{"${Object.keys(members)[0]}":"dup",${text.slice(1)}`, 'utf8');
    case 'empty': return Buffer.alloc(0);
    case 'repeatLists': {
      // Top-level lists only, repeated to `times` items (nested ones would multiply).
      const longer = Object.fromEntries(Object.entries(members).map(([k, v]) =>
        [k, Array.isArray(v) && v.length > 0 ? Array.from({ length: mode.times }, (_, i) => v[i % v.length] as unknown) : v]));
      return Buffer.from(JSON.stringify(longer), 'utf8');
    }
  }
}

/** The unsigned request for `spec` aimed at `target`. */
export function buildRequest(spec: HostileRequestSpec, target: Target): WireRequest {
  const { route } = spec;
  const input = resolve(spec.input, target) as Record<string, unknown>;
  const members = route.inputShape ? route.model.shapes[route.inputShape]?.members ?? {} : {};
  const body: Record<string, unknown> = {};
  const headers: Array<readonly [string, string]> = [];
  const query: string[] = [];
  const labels: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(input)) {
    const member = members[name];
    const wire = member?.locationName ?? name;
    if (member?.location === 'uri') labels[wire] = value;
    else if (member?.location === 'querystring') query.push(`${rfc3986(wire)}=${safeEncode(typeof value === 'string' ? value : JSON.stringify(value) ?? '')}`);
    else if (member?.location === 'header') headers.push([wire, String(typeof value === 'string' ? value : JSON.stringify(value)).replace(/[\r\n]/g, ' ')]);
    else Object.defineProperty(body, name, { value, enumerable: true, configurable: true, writable: true });
  }
  const path = route.service === 'cognito-identity' ? '/'
    : route.uri.replace(/\{(\w+)\}/g, (_, label: string) => labelText(spec, labels[label]));
  const firstMember = Object.entries(members).find(([, m]) => !m.location)?.[0] ?? 'a';
  const hasBodyMembers = Object.values(members).some((m) => !m.location) || route.service === 'cognito-identity';
  const bytes = hasBodyMembers || spec.body.kind !== 'json' ? bodyBytes(spec.body, body, firstMember) : Buffer.alloc(0);
  if (route.service === 'cognito-identity') {
    headers.push(['Content-Type', 'application/x-amz-json-1.1']);
    const name = { right: route.name, unknown: 'DropTables', missing: undefined, otherService: undefined }[spec.target];
    if (spec.target === 'otherService') headers.push(['X-Amz-Target', `AWSCognitoSyncService.${route.name}`]);
    else if (name) headers.push(['X-Amz-Target', `AWSCognitoIdentityService.${name}`]);
  } else if (bytes.length > 0) {
    headers.push(['Content-Type', 'application/json']);
  }
  headers.push(...spec.extraHeaders);
  const queryText = [...query, ...(spec.extraQuery ? [spec.extraQuery] : [])].join('&');
  return applyVariant(spec, { method: route.method, path, query: queryText, headers, body: bytes });
}

function applyVariant(spec: HostileRequestSpec, req: WireRequest): WireRequest {
  const lastSlash = req.path.lastIndexOf('/');
  switch (spec.variant) {
    case 'none': return req;
    case 'trailingSlash': return { ...req, path: `${req.path}/` };
    case 'doubleSlash': return { ...req, path: req.path.replace('/', '//') };
    case 'dotSegment': return { ...req, path: `${req.path.slice(0, lastSlash)}/x/..${req.path.slice(lastSlash)}` };
    case 'absoluteForm': return { ...req, path: `http://127.0.0.1${req.path}` };
    case 'manyParams': return { ...req, query: [req.query, ...Array.from({ length: 1500 }, (_, i) => `p${i}=${i}`)].filter(Boolean).join('&') };
    case 'duplicateParams': return { ...req, query: req.query ? `${req.query}&${req.query}&maxResults=1&maxResults=abc` : 'maxResults=1&maxResults=abc' };
    default: return { ...req, method: spec.variant };
  }
}

function setHeader(req: WireRequest, name: string, change: (value: string) => string): WireRequest {
  return { ...req, headers: req.headers.map(([n, v]) => (n.toLowerCase() === name ? [n, change(v)] as const : [n, v] as const)) };
}

function shiftDate(longDate: string): string {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(longDate);
  if (!m) return `${longDate}1`;
  const d = new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]! + 1));
  return d.toISOString().replace(/[-:]|\.\d{3}/g, '');
}

const OTHER_METHOD: Record<string, string> = { GET: 'DELETE', DELETE: 'GET', POST: 'PUT', PUT: 'POST' };

/** Alters a signed request in one way its signature covers; the result must be refused. */
export function mutate(req: WireRequest, mutation: Mutation, otherAccessKey: string): WireRequest {
  // The edge never reads a GET body (no GET operation has body members), so altering one changes nothing.
  const bodyIgnored = req.method === 'GET' && (mutation === 'bodyByte' || mutation === 'contentSha256');
  switch (bodyIgnored ? 'queryAdded' : mutation) {
    case 'signatureChar':
      return setHeader(req, 'authorization', (v) => v.replace(/.$/, (c) => (c === '0' ? '1' : '0')));
    case 'dateShift': return setHeader(req, 'x-amz-date', shiftDate);
    case 'queryAdded': return { ...req, query: req.query ? `${req.query}&x=1` : 'x=1' };
    case 'bodyByte': return { ...req, body: Buffer.concat([req.body, Buffer.from(' ')]) };
    case 'method': return { ...req, method: OTHER_METHOD[req.method] ?? 'GET' };
    case 'scopeRegion': return setHeader(req, 'authorization', (v) => v.replace('/us-east-1/', '/us-west-2/'));
    case 'scopeService':
      return setHeader(req, 'authorization', (v) => (v.includes('/cognito-sync/') ? v.replace('/cognito-sync/', '/cognito-identity/') : v.replace('/cognito-identity/', '/cognito-sync/')));
    case 'signedHeadersDropped': return setHeader(req, 'authorization', (v) => v.replace(/SignedHeaders=([^,]*)/, (_, list: string) => `SignedHeaders=${list.split(';').slice(1).join(';') || 'host'}`));
    case 'contentSha256': {
      const body = Buffer.concat([req.body, Buffer.from(' ')]);
      return { ...setHeader(req, 'x-amz-content-sha256', () => createHash('sha256').update(body).digest('hex')), body };
    }
    case 'pathChar': return { ...req, path: req.path.replace(/.$/, (c) => (c === 'a' ? 'b' : 'a')) };
    case 'hostChanged': return setHeader(req, 'host', (v) => v.replace('127.0.0.1', 'localhost'));
    case 'accessKey': return setHeader(req, 'authorization', (v) => v.replace(/Credential=[^/]+/, `Credential=${otherAccessKey}`));
  }
}

/** Sends the signature of `signedFor` with the path, query and body of `aimedAt` (a captured signature reused). */
export function transplant(signedFor: WireRequest, aimedAt: WireRequest): WireRequest {
  const signatureHeaders = new Set(['authorization', 'x-amz-date', 'x-amz-content-sha256', 'x-amz-security-token', 'host']);
  const headers = [
    ...signedFor.headers.filter(([n]) => signatureHeaders.has(n.toLowerCase())),
    ...aimedAt.headers.filter(([n]) => !signatureHeaders.has(n.toLowerCase())),
  ];
  return { ...aimedAt, headers };
}

export { serialise };
