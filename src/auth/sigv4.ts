/**
 * Verification of AWS Signature Version 4, Authorization-header form (WIRE.md §1.3, §2).
 *
 * The expected signature is computed by @smithy/signature-v4 (canonical path, query and headers, string to sign,
 * signing-key derivation and HMAC); this file only parses what the client sent, checks it the way AWS front ends do,
 * and feeds the library exactly what the client declared it signed. Errors carry AWS's codes and messages.
 */
import { createHash, createHmac, timingSafeEqual, type Hash, type Hmac } from 'node:crypto';
import { ALGORITHM_IDENTIFIER, SignatureV4, createScope, getCanonicalHeaders } from '@smithy/signature-v4';
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

/**
 * SHA-256 / HMAC-SHA256 for smithy on node:crypto (its Checksum interface). The pure-JS @aws-crypto/sha256-js costs
 * several times more, and every request hashes its canonical request and computes two HMACs.
 */
class NodeSha256 {
  private hash: Hash | Hmac;
  constructor(private readonly secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = this.create();
  }
  update(data: Uint8Array): void {
    this.hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return this.hash.digest();
  }
  reset(): void {
    this.hash = this.create();
  }
  private create(): Hash | Hmac {
    if (this.secret === undefined) return createHash('sha256');
    const s = this.secret;
    const key = typeof s === 'string' ? s
      : ArrayBuffer.isView(s) ? new Uint8Array(s.buffer, s.byteOffset, s.byteLength) : new Uint8Array(s);
    return createHmac('sha256', key);
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
  return lowerCaseHeaders(headers).has('authorization');
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

  const credentials = await opts.resolve(auth.accessKeyId, headers.get('x-amz-security-token'));
  if (credentials === undefined) {
    throw errors.unrecognizedClient('The security token included in the request is invalid.');
  }

  const expected = await expectedSignature(req, headers, auth, time, credentials.secretAccessKey);
  if (!sameText(expected, auth.signature)) throw errors.invalidSignature(MISMATCH);
  return credentials.principal;
}

/** Presigned URLs are not supported: say so rather than answer a confusing missing-token or mismatch error. */
function rejectQueryAuthentication(rawQuery: string): void {
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
  const params = new Map<string, string>();
  for (const part of trimmed.slice(space + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq !== -1) params.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const problems: string[] = [];
  for (const name of ['Credential', 'Signature', 'SignedHeaders']) {
    if (!params.get(name)) problems.push(`Authorization header requires '${name}' parameter.`);
  }
  if (!hasDate) problems.push("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  if (problems.length > 0) throw errors.incompleteSignature(`${problems.join(' ')} Authorization=${header}`);

  const credential = params.get('Credential') ?? '';
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
    signedHeaders: params.get('SignedHeaders') ?? '',
    signature: params.get('Signature') ?? '',
  };
}

/** The signing date: X-Amz-Date (ISO-8601 basic), else the Date header (HTTP date), as AWS falls back. */
function readSigningTime(headers: ReadonlyMap<string, string>): SigningTime {
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
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
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
  const minutes = `${Math.round(maxSkewMs / 60000)} min.`;
  // Formatted only for the error: this runs on every request.
  const nowText = (): string => formatLongDate(now);
  const earliest = new Date(now.getTime() - maxSkewMs);
  const latest = new Date(now.getTime() + maxSkewMs);
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
function payloadHash(headers: ReadonlyMap<string, string>, body: Buffer): string {
  const actual = createHash('sha256').update(body).digest('hex');
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
  async signatureFor(request: SmithyRequest, signed: ReadonlySet<string>, hash: string, time: SigningTime): Promise<string> {
    // The signable set overrides smithy's always-unsignable list: some clients (e.g. Unity, SPEC §1) sign user-agent.
    const canonicalHeaders = getCanonicalHeaders(request, undefined, new Set(signed));
    // The canonical header list must be exactly the declared one: nothing dropped, nothing added.
    const built = Object.keys(canonicalHeaders).sort().join(';');
    if (built !== [...signed].join(';')) throw errors.invalidSignature(MISMATCH);
    const region = await this.regionProvider();
    const scope = createScope(time.longDate.slice(0, 8), region, this.service);
    const canonicalRequest = this.createCanonicalRequest(request, canonicalHeaders, hash);
    const stringToSign = await this.createStringToSign(time.longDate, scope, canonicalRequest, ALGORITHM_IDENTIFIER);
    return this.sign(stringToSign, { signingDate: time.date, signingRegion: region, signingService: this.service });
  }
}

async function expectedSignature(
  req: SignedRequest,
  headers: ReadonlyMap<string, string>,
  auth: ParsedAuthorization,
  time: SigningTime,
  secretAccessKey: string,
): Promise<string> {
  const hash = payloadHash(headers, req.body);
  const names = auth.signedHeaders.split(';');
  const signed = new Set(names);
  if (signed.size !== names.length) throw errors.invalidSignature(MISMATCH);
  // Only the declared headers go in; one that was declared but not sent is then missing from the built list.
  const signedHeaders = Object.fromEntries(names.flatMap((name) => {
    const value = headers.get(name);
    return value === undefined ? [] : [[name, value] as const];
  }));
  const request: SmithyRequest = {
    method: req.method,
    protocol: 'https:',
    hostname: 'localhost',
    // Smithy escapes the path once more (uriEscapePath), which gives the double-encoded canonical URI every client signs.
    path: req.rawPath === '' ? '/' : req.rawPath,
    query: parseQuery(req.rawQuery),
    headers: signedHeaders,
  };
  const verifier = new SignatureVerifier({
    credentials: { accessKeyId: auth.accessKeyId, secretAccessKey },
    region: auth.scopeRegion,
    service: auth.scopeService,
    sha256: NodeSha256,
    uriEscapePath: true,
    applyChecksum: false,
  });
  return verifier.signatureFor(request, signed, hash, time);
}

/**
 * Name/value pairs of the raw query, percent-decoded (smithy RFC 3986-encodes and sorts them again). `+` stays a
 * literal plus: no client sends it for a space (WIRE.md §1.2), and a client that sends a raw `+` signs it as `%2B`.
 */
function parseQuery(rawQuery: string): Record<string, string | string[]> {
  const grouped = new Map<string, string[]>();
  for (const piece of rawQuery.split('&')) {
    if (piece === '') continue;
    const eq = piece.indexOf('=');
    const name = decodeLenient(eq === -1 ? piece : piece.slice(0, eq));
    const value = eq === -1 ? '' : decodeLenient(piece.slice(eq + 1));
    grouped.set(name, [...(grouped.get(name) ?? []), value]);
  }
  // fromEntries defines own properties, so a parameter named __proto__ stays a parameter.
  return Object.fromEntries([...grouped].map(([name, values]) => [name, values.length === 1 ? values[0] ?? '' : values]));
}

/** Malformed percent-escapes are kept as sent; they are then signed as literal text, like any other character. */
function decodeLenient(text: string): string {
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
function lowerCaseHeaders(headers: SignedRequest['headers']): Map<string, string> {
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

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
