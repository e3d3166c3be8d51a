/**
 * What the client sent, for SigV4 verification (WIRE.md §1.3, §2): the Authorization header, the signing date, the
 * checks AWS front ends make on them before any signature is computed, and the header and query lookups the
 * verification reads. Errors carry AWS's codes and messages.
 */
import { ALGORITHM_IDENTIFIER } from '@smithy/signature-v4';
import { errors } from '../api/errors.js';
import type { SignedRequest, VerifyOptions } from './sigv4.js';

export interface ParsedAuthorization {
  readonly header: string;
  readonly accessKeyId: string;
  readonly scopeDate: string;
  readonly scopeRegion: string;
  readonly scopeService: string;
  /** The SignedHeaders parameter exactly as sent (';'-separated, lower-case, sorted when well-formed). */
  readonly signedHeaders: string;
  readonly signature: string;
}

export interface SigningTime {
  readonly date: Date;
  /** yyyymmddThhmmssZ, as it goes into the string to sign. */
  readonly longDate: string;
}

const QUERY_AUTH_HINT = /x-amz-|%/i;

/** Presigned URLs are not supported: say so rather than answer a confusing missing-token or mismatch error. */
export function rejectQueryAuthentication(rawQuery: string): void {
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
export function parseAuthorization(header: string, hasDate: boolean): ParsedAuthorization {
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
export function readSigningTime(headers: HeaderLookup): SigningTime {
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

/** `x-amz-target` as AWS writes header names in its messages: `X-Amz-Target`. */
function headerTitle(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
}

function formatLongDate(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/**
 * Host (and opts.mustSign) must be signed, and the scope must name this service, this region and the signing date's
 * day.
 */
export function checkScope(auth: ParsedAuthorization, time: SigningTime, opts: VerifyOptions): void {
  const signed = auth.signedHeaders.split(';');
  if (!signed.includes('host') && !signed.includes(':authority')) {
    throw errors.invalidSignature("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  }
  for (const name of opts.mustSign ?? []) {
    if (!signed.includes(name)) {
      throw errors.invalidSignature(`'${headerTitle(name)}' must be a 'SignedHeader' in the AWS Authorization.`);
    }
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
export function checkClock(time: SigningTime, now: Date, maxSkewMs: number): void {
  const at = time.date.getTime();
  // To the second, as signing dates are: a date exactly the allowed skew behind is as good as one exactly ahead.
  const nowMs = Math.floor(now.getTime() / 1000) * 1000;
  if (at >= nowMs - maxSkewMs && at <= nowMs + maxSkewMs) return;
  // Formatted only for the error: the lines above run on every request.
  const minutes = `${Math.round(maxSkewMs / 60000)} min.`;
  const nowText = (): string => formatLongDate(new Date(nowMs));
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
 * Name/value pairs of the raw query, percent-decoded (smithy RFC 3986-encodes and sorts them again). A raw `+` is a
 * space, as in a form: the Android SDK sends a space so (java.net.URLEncoder) and signs it as `%20`, while every
 * client that means a plus sends and signs `%2B` (docs/decisions.md).
 */
export function parseQuery(rawQuery: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  if (rawQuery === '') return query;
  for (const piece of rawQuery.split('&')) {
    if (piece === '') continue;
    const eq = piece.indexOf('=');
    const name = decodeLenient(plusAsSpace(eq === -1 ? piece : piece.slice(0, eq)));
    const value = eq === -1 ? '' : decodeLenient(plusAsSpace(piece.slice(eq + 1)));
    const previous = Object.hasOwn(query, name) ? query[name] : undefined;
    setOwn(query, name, previous === undefined ? value : typeof previous === 'string' ? [previous, value] : [...previous, value]);
  }
  return query;
}

/**
 * Sets an own property, so that a header or parameter named __proto__ stays one rather than replacing the object's
 * prototype. (A prototype-less object would do the same, but V8 keeps such objects in slow dictionary mode.)
 */
export function setOwn<T>(target: Record<string, T>, name: string, value: T): void {
  if (name === '__proto__') Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
  else target[name] = value;
}

/** A query's raw `+` as the space it stands for (see parseQuery). */
export function plusAsSpace(text: string): string {
  return text.includes('+') ? text.replaceAll('+', ' ') : text;
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
export function lowerCaseHeaders(headers: SignedRequest['headers']): HeaderLookup {
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
export interface HeaderLookup {
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
