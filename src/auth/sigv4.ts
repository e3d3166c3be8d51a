/**
 * Verification of AWS Signature Version 4, Authorization-header form (WIRE.md §1.3, §2).
 *
 * The expected signature is computed by @smithy/signature-v4 (canonical path, query and headers, string to sign,
 * signing-key derivation and HMAC); this file only parses what the client sent, checks it the way AWS front ends do,
 * and feeds the library exactly what the client declared it signed. Errors carry AWS's codes and messages.
 */
import { createHmac, hash as sha256Once, timingSafeEqual, type Hmac } from 'node:crypto';
import {
  ALGORITHM_IDENTIFIER, SignatureV4, createScope, getCanonicalHeaders, getSigningKey,
} from '@smithy/signature-v4';
import { errors } from '../api/errors.js';
import type { Principal } from './principal.js';

/** A request as received, before any decoding: what the client signed is what went over the wire. */
export interface SignedRequest {
  method: string;
  /** The path exactly as sent on the wire (still percent-encoded), without the query. */
  rawPath: string;
  /** The query string exactly as sent, without '?'; may be ''. */
  rawQuery: string;
  /** Node IncomingHttpHeaders (names lower-case); other casings are tolerated. */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface ResolvedCredentials {
  secretAccessKey: string;
  principal: Principal;
}

/** Returns undefined when the access key is unknown. sessionToken is the X-Amz-Security-Token header, if any. */
export type CredentialResolver = (
  accessKeyId: string,
  sessionToken: string | undefined,
) => Promise<ResolvedCredentials | undefined> | ResolvedCredentials | undefined;

export interface VerifyOptions {
  /** Signing name the credential scope must name, e.g. 'cognito-sync' or 'cognito-identity'. */
  service: string;
  /** The server's region; the credential scope must name it. */
  region: string;
  now: Date;
  resolve: CredentialResolver;
  /** Largest accepted distance between the signing date and `now`; default 15 minutes, as AWS. */
  maxSkewMs?: number;
}

const DEFAULT_MAX_SKEW_MS = 15 * 60 * 1000;
const MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key ' +
  'and signing method. Consult the service documentation for details.';

/** SHA-256 of an empty payload (GET and DELETE requests), as hex. */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/**
 * SHA-256 / HMAC-SHA256 for smithy on node:crypto (its Checksum interface). The pure-JS @aws-crypto/sha256-js costs
 * several times more. A plain hash is computed in one shot (crypto.hash) when digested: smithy hashes one string
 * per request (the canonical request), and the one-shot call skips creating a Hash object.
 */
class NodeSha256 {
  private hmac: Hmac | undefined;
  private chunks: Uint8Array[] = [];
  constructor(private readonly secret?: string | ArrayBuffer | ArrayBufferView) {
    this.reset();
  }
  update(data: Uint8Array): void {
    if (this.hmac) this.hmac.update(data);
    else this.chunks.push(data);
  }
  async digest(): Promise<Uint8Array> {
    if (this.hmac) return this.hmac.digest();
    const data = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    return sha256Once('sha256', data, 'buffer');
  }
  reset(): void {
    this.chunks = [];
    const s = this.secret;
    if (s === undefined) return;
    const key = typeof s === 'string' ? s
      : ArrayBuffer.isView(s) ? new Uint8Array(s.buffer, s.byteOffset, s.byteLength) : new Uint8Array(s);
    this.hmac = createHmac('sha256', key);
  }
}

/** Smithy's request shape, taken from an exported function so no undeclared package is imported. */
type SmithyRequest = Parameters<typeof getCanonicalHeaders>[0];

interface ParsedAuthorization {
  readonly header: string;
  readonly accessKeyId: string;
  readonly scopeDate: string;
  readonly scopeRegion: string;
  readonly scopeService: string;
  /** The SignedHeaders parameter exactly as sent (';'-separated, lower-case, sorted when well-formed). */
  readonly signedHeaders: string;
  readonly signature: string;
}

interface SigningTime {
  readonly date: Date;
  /** yyyymmddThhmmssZ, as it goes into the string to sign. */
  readonly longDate: string;
}

/** True when the request carries an Authorization header (whatever its content). */
export function hasSignature(headers: SignedRequest['headers']): boolean {
  // Node lower-cases header names; other casings (hand-built requests) take the slow path.
  return headers['authorization'] !== undefined || lowerCaseHeaders(headers).has('authorization');
}

/**
 * Verifies the request's SigV4 Authorization header and returns the caller's principal.
 * Throws a ServiceError (IncompleteSignature, InvalidSignature, UnrecognizedClient, MissingAuthenticationToken)
 * on any failure; never returns for a request whose method, path, query, signed headers or body were changed.
 */
export async function verifySigV4(req: SignedRequest, opts: VerifyOptions): Promise<Principal> {
  rejectQueryAuthentication(req.rawQuery);
  const headers = lowerCaseHeaders(req.headers);
  const authorization = headers.get('authorization');
  if (authorization === undefined) throw errors.missingAuthenticationToken('Request is missing Authentication Token');

  const auth = parseAuthorization(authorization, headers.has('x-amz-date') || headers.has('date'));
  const time = readSigningTime(headers);
  checkScope(auth, time, opts);
  checkClock(time, opts.now, opts.maxSkewMs ?? DEFAULT_MAX_SKEW_MS);

  const resolved = opts.resolve(auth.accessKeyId, headers.get('x-amz-security-token'));
  // Awaited only when it is a promise: the developer key resolves synchronously.
  const credentials = isPromiseLike(resolved) ? await resolved : resolved;
  if (credentials === undefined) {
    throw errors.unrecognizedClient('The security token included in the request is invalid.');
  }

  const expected = await expectedSignature(req, headers, auth, time, credentials.secretAccessKey);
  if (!sameText(expected, auth.signature)) throw errors.invalidSignature(MISMATCH);
  return credentials.principal;
}

const QUERY_AUTH_HINT = /x-amz-|%/i;

/** Presigned URLs are not supported: say so rather than answer a confusing missing-token or mismatch error. */
function rejectQueryAuthentication(rawQuery: string): void {
  // Neither name can be there (not even percent-encoded) without 'x-amz-' or a '%' in the query.
  if (!QUERY_AUTH_HINT.test(rawQuery)) return;
  // X-Amz-Signature is included because smithy leaves it out of the canonical query: accepting it would let anyone
  // add that parameter to a signed request without invalidating the signature.
  const presign = rawQuery
    .split('&')
    .map((piece) => decodeLenient(piece.split('=', 1)[0] ?? '').toLowerCase())
    .some((name) => name === 'x-amz-algorithm' || name === 'x-amz-signature');
  if (presign) {
    throw errors.incompleteSignature(
      'Query-string authentication (X-Amz-Algorithm / X-Amz-Signature in the query) is not supported by this ' +
        'server; sign the request with an Authorization header.',
    );
  }
}

/**
 * Parses `AWS4-HMAC-SHA256 Credential=AKID/yyyymmdd/region/service/aws4_request, SignedHeaders=a;b, Signature=hex`.
 * Missing parameters (and a missing date header) are reported together, as AWS does.
 */
function parseAuthorization(header: string, hasDate: boolean): ParsedAuthorization {
  const trimmed = header.trim();
  const space = trimmed.indexOf(' ');
  const algorithm = space === -1 ? trimmed : trimmed.slice(0, space);
  if (algorithm !== ALGORITHM_IDENTIFIER) {
    throw errors.incompleteSignature(
      `Authorization header requires '${ALGORITHM_IDENTIFIER}' as its algorithm, got '${algorithm}'. Authorization=${header}`,
    );
  }
  // The three parameters read; a repeated one counts as its last value, and any other is ignored.
  let credential = '';
  let signature = '';
  let signedHeaders = '';
  for (const part of trimmed.slice(space + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    const name = part.slice(0, eq).trim();
    if (name === 'Credential') credential = part.slice(eq + 1).trim();
    else if (name === 'Signature') signature = part.slice(eq + 1).trim();
    else if (name === 'SignedHeaders') signedHeaders = part.slice(eq + 1).trim();
  }
  if (!credential || !signature || !signedHeaders || !hasDate) {
    const problems: string[] = [];
    if (!credential) problems.push("Authorization header requires 'Credential' parameter.");
    if (!signature) problems.push("Authorization header requires 'Signature' parameter.");
    if (!signedHeaders) problems.push("Authorization header requires 'SignedHeaders' parameter.");
    if (!hasDate) problems.push("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
    throw errors.incompleteSignature(`${problems.join(' ')} Authorization=${header}`);
  }

  const scope = credential.split('/');
  const [accessKeyId, scopeDate, scopeRegion, scopeService, terminator] = scope;
  if (scope.length !== 5 || accessKeyId === undefined || scopeDate === undefined || scopeRegion === undefined ||
      scopeService === undefined || terminator === undefined) {
    throw errors.incompleteSignature(
      `Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${credential}'`,
    );
  }
  if (terminator !== 'aws4_request') {
    throw errors.invalidSignature(`Credential should be scoped with a valid terminator: 'aws4_request', not '${terminator}'. `);
  }
  return {
    header, accessKeyId, scopeDate, scopeRegion, scopeService,
    signedHeaders,
    signature,
  };
}

/** The signing date: X-Amz-Date (ISO-8601 basic), else the Date header (HTTP date), as AWS falls back. */
function readSigningTime(headers: HeaderLookup): SigningTime {
  const amzDate = headers.get('x-amz-date');
  const raw = amzDate ?? headers.get('date') ?? '';
  const date = amzDate !== undefined ? parseBasicIso8601(amzDate.trim()) : new Date(raw.trim());
  if (date === undefined || Number.isNaN(date.getTime())) {
    throw errors.incompleteSignature(
      `Date must be in ISO-8601 'basic format'. Got '${raw}'. See http://en.wikipedia.org/wiki/ISO_8601`,
    );
  }
  // parseBasicIso8601 only accepts text that is exactly the date's long form.
  return { date, longDate: amzDate !== undefined ? amzDate.trim() : formatLongDate(date) };
}

function parseBasicIso8601(text: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) return undefined;
  const y = Number(m[1]), mo = Number(m[2]), d = Number(m[3]), h = Number(m[4]), mi = Number(m[5]), s = Number(m[6]);
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  // Date.UTC rolls 20261332 over into the next year; such a date was never a valid signing date.
  const exact = date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d &&
    date.getUTCHours() === h && date.getUTCMinutes() === mi && date.getUTCSeconds() === s;
  return exact ? date : undefined;
}

function formatLongDate(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/** Host must be signed, and the scope must name this service, this region and the signing date's day. */
function checkScope(auth: ParsedAuthorization, time: SigningTime, opts: VerifyOptions): void {
  const signed = auth.signedHeaders.split(';');
  if (!signed.includes('host') && !signed.includes(':authority')) {
    throw errors.invalidSignature("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  }
  if (auth.scopeService !== opts.service) {
    throw errors.invalidSignature(`Credential should be scoped to correct service: '${opts.service}'. `);
  }
  if (auth.scopeRegion !== opts.region) throw errors.invalidSignature('Credential should be scoped to a valid region. ');
  const day = time.longDate.slice(0, 8);
  if (auth.scopeDate !== day) {
    throw errors.invalidSignature(
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: ` +
        `'${auth.scopeDate}' != '${day}', from '${time.longDate}'.`,
    );
  }
}

/** AWS's replay window: the signing date may be at most maxSkewMs before or after the server's clock. */
function checkClock(time: SigningTime, now: Date, maxSkewMs: number): void {
  const at = time.date.getTime();
  const nowMs = now.getTime();
  if (at >= nowMs - maxSkewMs && at <= nowMs + maxSkewMs) return;
  // Formatted only for the error: the lines above run on every request.
  const minutes = `${Math.round(maxSkewMs / 60000)} min.`;
  const nowText = (): string => formatLongDate(now);
  const earliest = new Date(nowMs - maxSkewMs);
  const latest = new Date(nowMs + maxSkewMs);
  if (time.date < earliest) {
    throw errors.invalidSignature(
      `Signature expired: ${time.longDate} is now earlier than ${formatLongDate(earliest)} (${nowText()} - ${minutes})`,
    );
  }
  if (time.date > latest) {
    throw errors.invalidSignature(
      `Signature not yet current: ${time.longDate} is still later than ${formatLongDate(latest)} (${nowText()} + ${minutes})`,
    );
  }
}

/**
 * The payload hash that goes into the canonical request: the X-Amz-Content-Sha256 header when sent (v2/v3 send it),
 * which must then match the body actually received; else SHA-256 of the body (boto3 and the CLI send no header).
 */
function payloadHash(headers: HeaderLookup, body: Buffer): string {
  const actual = body.length === 0 ? EMPTY_SHA256 : sha256Once('sha256', body, 'hex');
  const declared = headers.get('x-amz-content-sha256');
  if (declared === undefined) return actual;
  // The signature covers the header, not the body: a body changed in transit only shows here.
  if (declared.trim().toLowerCase() !== actual) throw errors.invalidSignature(MISMATCH);
  return declared;
}

/**
 * Smithy's SignatureV4, used to compute what the client should have sent. `signRequest` cannot be used for
 * verification: it drops any `date` header and always adds and signs `x-amz-date`, so it cannot reproduce a request
 * that signs `date` or leaves `x-amz-date` unsigned. This subclass runs the same steps signRequest runs (canonical
 * request, string to sign, derived-key HMAC) on exactly the headers the client declared.
 */
class SignatureVerifier extends SignatureV4 {
  /** Signing keys by day (yyyymmdd): derived once per day rather than looked up in smithy's cache per request. */
  private readonly signingKeys = new Map<string, Promise<Uint8Array>>();

  constructor(
    readonly accessKeyId: string,
    readonly secretAccessKey: string,
    readonly region: string,
    service: string,
  ) {
    super({
      credentials: { accessKeyId, secretAccessKey },
      region,
      service,
      sha256: NodeSha256,
      uriEscapePath: true,
      applyChecksum: false,
    });
  }

  async signatureFor(
    request: SmithyRequest, signed: Set<string>, declared: string, hash: string, time: SigningTime,
  ): Promise<string> {
    // The signable set overrides smithy's always-unsignable list: some clients (e.g. Unity, SPEC §1) sign user-agent.
    const canonicalHeaders = getCanonicalHeaders(request, undefined, signed);
    // The canonical header list must be exactly the declared one: nothing dropped, nothing added.
    const built = Object.keys(canonicalHeaders).sort().join(';');
    if (built !== declared) throw errors.invalidSignature(MISMATCH);
    const day = time.longDate.slice(0, 8);
    const scope = createScope(day, this.region, this.service);
    const canonicalRequest = this.createCanonicalRequest(request, canonicalHeaders, hash);
    const stringToSign = await this.createStringToSign(time.longDate, scope, canonicalRequest, ALGORITHM_IDENTIFIER);
    // What smithy's signString does after its per-request signing-key lookup (an HMAC of the credentials, then its
    // cache): HMAC-SHA256 of the string to sign under the day's signing key, which smithy derived once.
    const mac = createHmac('sha256', await this.signingKey(day));
    return mac.update(stringToSign, 'utf8').digest('hex');
  }

  private signingKey(day: string): Promise<Uint8Array> {
    let key = this.signingKeys.get(day);
    if (key === undefined) {
      // Only today's and yesterday's keys are in use within the allowed clock skew.
      if (this.signingKeys.size >= 3) this.signingKeys.clear();
      const credentials = { accessKeyId: this.accessKeyId, secretAccessKey: this.secretAccessKey };
      key = getSigningKey(NodeSha256, credentials, day, this.region, this.service);
      this.signingKeys.set(day, key);
      // A failed derivation is not kept.
      key.catch(() => this.signingKeys.delete(day));
    }
    return key;
  }
}

/**
 * smithy's canonical path (segment normalisation, then RFC 3986 escaping, done twice over) is a pure function of the
 * path, and the paths a server sees repeat (one per identity and dataset): smithy computes each once and the result
 * is remembered. The method is private in smithy's typings, hence the prototype lookup; should a smithy version not
 * have it, nothing is remembered and smithy's own code runs as before.
 */
const MAX_CANONICAL_PATHS = 10_000;
const smithyCanonicalPath = (SignatureV4.prototype as unknown as { getCanonicalPath?: unknown }).getCanonicalPath;
if (typeof smithyCanonicalPath === 'function') {
  const canonicalPaths = new Map<string, string>();
  Object.defineProperty(SignatureVerifier.prototype, 'getCanonicalPath', {
    value(this: SignatureVerifier, request: { path: string }): string {
      let canonical = canonicalPaths.get(request.path);
      if (canonical === undefined) {
        canonical = String(smithyCanonicalPath.call(this, request));
        if (canonicalPaths.size >= MAX_CANONICAL_PATHS) canonicalPaths.clear();
        canonicalPaths.set(request.path, canonical);
      }
      return canonical;
    },
  });
}

/**
 * One verifier per credential, reused across requests, so its signing key is derived once a day. Looked up by
 * service and access key; the region and the secret are compared on every use. It holds only facts that never change
 * for a key pair (the derived signing keys): whether the credential is still valid is resolved on every request,
 * before this.
 */
const MAX_VERIFIERS = 10_000;
/** By service (a handful), then by access key: no key string is built per request. */
const verifiers = new Map<string, Map<string, SignatureVerifier>>();

function verifierFor(accessKeyId: string, secretAccessKey: string, region: string, service: string): SignatureVerifier {
  let byKey = verifiers.get(service);
  if (byKey === undefined) verifiers.set(service, (byKey = new Map()));
  let verifier = byKey.get(accessKeyId);
  if (verifier === undefined || verifier.secretAccessKey !== secretAccessKey || verifier.region !== region) {
    // Oldest first: a Map iterates in insertion order.
    if (byKey.size >= MAX_VERIFIERS) byKey.delete(byKey.keys().next().value!);
    verifier = new SignatureVerifier(accessKeyId, secretAccessKey, region, service);
    byKey.set(accessKeyId, verifier);
  }
  return verifier;
}

function expectedSignature(
  req: SignedRequest,
  headers: HeaderLookup,
  auth: ParsedAuthorization,
  time: SigningTime,
  secretAccessKey: string,
): Promise<string> {
  const hash = payloadHash(headers, req.body);
  const names = auth.signedHeaders.split(';');
  const signed = new Set(names);
  if (signed.size !== names.length) throw errors.invalidSignature(MISMATCH);
  // Only the declared headers go in; one that was declared but not sent is then missing from the built list.
  const signedHeaders: Record<string, string> = {};
  for (const name of names) {
    const value = headers.get(name);
    if (value !== undefined) setOwn(signedHeaders, name, value);
  }
  const request: SmithyRequest = {
    method: req.method,
    protocol: 'https:',
    hostname: 'localhost',
    // Smithy escapes the path once more (uriEscapePath), which gives the double-encoded canonical URI every client signs.
    path: req.rawPath === '' ? '/' : req.rawPath,
    query: parseQuery(req.rawQuery),
    headers: signedHeaders,
  };
  const verifier = verifierFor(auth.accessKeyId, secretAccessKey, auth.scopeRegion, auth.scopeService);
  return verifier.signatureFor(request, signed, auth.signedHeaders, hash, time);
}

/**
 * Name/value pairs of the raw query, percent-decoded (smithy RFC 3986-encodes and sorts them again). `+` stays a
 * literal plus: no client sends it for a space (WIRE.md §1.2), and a client that sends a raw `+` signs it as `%2B`.
 */
function parseQuery(rawQuery: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  if (rawQuery === '') return query;
  for (const piece of rawQuery.split('&')) {
    if (piece === '') continue;
    const eq = piece.indexOf('=');
    const name = decodeLenient(eq === -1 ? piece : piece.slice(0, eq));
    const value = eq === -1 ? '' : decodeLenient(piece.slice(eq + 1));
    const previous = Object.hasOwn(query, name) ? query[name] : undefined;
    setOwn(query, name, previous === undefined ? value : typeof previous === 'string' ? [previous, value] : [...previous, value]);
  }
  return query;
}

/**
 * Sets an own property, so that a header or parameter named __proto__ stays one rather than replacing the object's
 * prototype. (A prototype-less object would do the same, but V8 keeps such objects in slow dictionary mode.)
 */
function setOwn<T>(target: Record<string, T>, name: string, value: T): void {
  if (name === '__proto__') Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
  else target[name] = value;
}

/** Malformed percent-escapes are kept as sent; they are then signed as literal text, like any other character. */
function decodeLenient(text: string): string {
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * Header names lower-cased; repeated names joined with ',' as the canonical form does. (Node itself joins most
 * repeated headers with ', ', which a client signing `a,b` would not match; no known client repeats a signed header.)
 */
function lowerCaseHeaders(headers: SignedRequest['headers']): HeaderLookup {
  // Node lower-cases every name it parses: its headers object is then read as it is, without a copy.
  let lowerCase = true;
  for (const name in headers) {
    if (UPPER_CASE.test(name)) {
      lowerCase = false;
      break;
    }
  }
  if (lowerCase) return new LowerCaseHeaders(headers);
  const out = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const text = Array.isArray(value) ? value.join(',') : value;
    const key = name.toLowerCase();
    const previous = out.get(key);
    out.set(key, previous === undefined ? text : `${previous},${text}`);
  }
  return out;
}

/** The two lookups verification makes on the request's headers (names lower-case). */
interface HeaderLookup {
  get(name: string): string | undefined;
  has(name: string): boolean;
}

const UPPER_CASE = /[A-Z]/;

/** A headers object whose names are all lower-case, read like lowerCaseHeaders' Map. */
class LowerCaseHeaders implements HeaderLookup {
  constructor(private readonly headers: SignedRequest['headers']) {}
  get(name: string): string | undefined {
    const value = Object.hasOwn(this.headers, name) ? this.headers[name] : undefined;
    return typeof value === 'string' ? value : Array.isArray(value) ? value.join(',') : undefined;
  }
  has(name: string): boolean {
    return this.get(name) !== undefined;
  }
}

function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | undefined)?.then === 'function';
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
