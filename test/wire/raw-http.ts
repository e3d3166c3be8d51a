/**
 * Raw HTTP against the real server, for the wire tests: requests are built byte by byte (path as sent, headers
 * as given, any body) and, when asked, signed with @smithy/signature-v4 the way the official clients sign them
 * (canonical URI double-encoded, service cognito-sync or cognito-identity). Responses come back unparsed.
 */
import { request as httpRequest } from 'node:http';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4, getCanonicalHeaders } from '@smithy/signature-v4';
import { expect } from 'vitest';
import type { TestServer } from '../helpers/server.js';

type SmithyRequest = Parameters<typeof getCanonicalHeaders>[0];

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  /** Header names as the server wrote them, case kept. */
  readonly headerNames: readonly string[];
  readonly text: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  readonly json: unknown;
  header(name: string): string | undefined;
}

export interface SigningOptions {
  readonly credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  readonly service?: 'cognito-sync' | 'cognito-identity';
  readonly region?: string;
  /** Signing time (default: now). */
  readonly date?: Date;
  /** Add and sign X-Amz-Content-Sha256 (v2/v3 do; boto3 and the CLI do not). Default true. */
  readonly contentSha256?: boolean;
  /** Headers that are sent but left out of the signature. */
  readonly unsigned?: readonly string[];
}

export interface RawRequestOptions {
  readonly method: string;
  /** Path exactly as sent (percent-encoded labels). */
  readonly path: string;
  /** Query parameters, RFC 3986-encoded in the given order. */
  readonly query?: Readonly<Record<string, string>>;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
  /** Sign with SigV4 (true: the server's developer credentials) or send unsigned (false / absent). */
  readonly sign?: boolean | SigningOptions;
  /** Body sent instead of `body` after signing (to tamper with a signed request). */
  readonly sendBody?: string | Buffer;
}

/** RFC 3986 encoding, as every official client encodes labels and query values. */
export function rfc3986(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** `/identitypools/{pool}/identities/{id}/datasets/{ds}` and friends, each label encoded on its own. */
export function syncPath(...segments: string[]): string {
  return `/${segments.map((s, i) => (i % 2 === 0 ? s : rfc3986(s))).join('/')}`;
}

export function datasetPath(poolId: string, identityId: string, dataset: string): string {
  return syncPath('identitypools', poolId, 'identities', identityId, 'datasets', dataset);
}

export async function signRequest(
  t: TestServer, method: string, path: string, query: Readonly<Record<string, string>>,
  headers: Record<string, string>, body: Buffer, options: SigningOptions,
): Promise<Record<string, string>> {
  const url = new URL(t.endpoint);
  const unsigned = new Set((options.unsigned ?? []).map((h) => h.toLowerCase()));
  const toSign: Record<string, string> = { host: url.host };
  for (const [name, value] of Object.entries(headers)) if (!unsigned.has(name.toLowerCase())) toSign[name] = value;
  const signer = new SignatureV4({
    credentials: options.credentials ?? t.credentials,
    region: options.region ?? t.region,
    service: options.service ?? 'cognito-sync',
    sha256: Sha256,
    uriEscapePath: true,
    applyChecksum: options.contentSha256 ?? true,
  });
  const req: SmithyRequest = {
    method,
    protocol: 'http:',
    hostname: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    path,
    query: { ...query },
    headers: toSign,
    // The bytes themselves, so a body that is not UTF-8 is hashed as sent.
    body,
  };
  const signed = await signer.sign(req, { signingDate: options.date ?? new Date() });
  const out: Record<string, string> = { ...headers };
  for (const [name, value] of Object.entries(signed.headers)) out[name] = value;
  return out;
}

/** Sends one request over a fresh connection and collects the whole answer. */
export async function raw(t: TestServer, options: RawRequestOptions): Promise<RawResponse> {
  const body = Buffer.from(options.body ?? '');
  const queryText = Object.entries(options.query ?? {}).map(([k, v]) => `${rfc3986(k)}=${rfc3986(v)}`).join('&');
  let headers: Record<string, string> = { ...options.headers };
  if (options.sign) {
    headers = await signRequest(t, options.method, options.path, options.query ?? {}, headers, body,
      options.sign === true ? {} : options.sign);
  }
  const sent = options.sendBody === undefined ? body : Buffer.from(options.sendBody);
  return send(t.endpoint, options.method, queryText ? `${options.path}?${queryText}` : options.path, headers, sent);
}

/** Low level: exactly these headers (plus Content-Length when a body is sent without Content-Length or Transfer-Encoding). */
export function send(
  endpoint: string, method: string, target: string, headers: Record<string, string> | Array<[string, string]>,
  body: Buffer,
): Promise<RawResponse> {
  const url = new URL(endpoint);
  const list = Array.isArray(headers) ? headers : Object.entries(headers);
  const hasLength = list.some(([n]) => n.toLowerCase() === 'content-length' || n.toLowerCase() === 'transfer-encoding');
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: url.hostname,
      port: url.port,
      method,
      path: target,
      agent: false,
      setHost: !list.some(([n]) => n.toLowerCase() === 'host'),
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try { json = JSON.parse(text); } catch { json = undefined; }
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          headerNames: res.rawHeaders.filter((_, i) => i % 2 === 0),
          text,
          json,
          header: (name) => {
            const v = res.headers[name.toLowerCase()];
            return Array.isArray(v) ? v.join(', ') : v;
          },
        });
      });
    });
    req.on('error', reject);
    for (const [name, value] of list) req.setHeader(name, value);
    if (!hasLength && body.length > 0) req.setHeader('Content-Length', String(body.length));
    req.end(body.length > 0 ? body : undefined);
  });
}

/**
 * The error shape every client reads (WIRE §3, SPEC §13.3): status, x-amzn-ErrorType, x-amzn-RequestId,
 * a JSON body with __type and message. Returns the parsed body.
 */
export function expectAwsError(
  res: RawResponse, status: number, code: string, message?: string | RegExp,
): { __type: string; message: string } {
  expect({ status: res.status, type: res.header('x-amzn-ErrorType'), body: res.text }).toMatchObject({ status, type: code });
  expect(res.header('x-amzn-RequestId')).toMatch(/^[0-9a-f-]{36}$/);
  const body = res.json as { __type: string; message: string };
  expect(body).toMatchObject({ __type: code, message: expect.any(String) });
  expect(body.message.length).toBeGreaterThan(0);
  if (typeof message === 'string') expect(body.message).toContain(message);
  else if (message) expect(body.message).toMatch(message);
  return body;
}
