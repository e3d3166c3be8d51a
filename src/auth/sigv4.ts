/**
 * Verification of AWS Signature Version 4, Authorization-header form (WIRE.md §1.3, §2).
 *
 * The expected signature is computed in sigv4-signature.ts: @smithy/signature-v4 builds the canonical request (path,
 * query and headers) and derives the signing key, then the string to sign and its HMAC follow. The server only parses
 * what the client sent, checks it the way AWS front ends do (sigv4-request.ts), and feeds the library exactly what the
 * client declared it signed. This file runs those steps in order. Errors carry AWS's codes and messages.
 */
import { errors } from '../api/errors.js';
import { sameText } from '../hmac.js';
import type { Principal } from './principal.js';
import {
  checkClock, checkScope, lowerCaseHeaders, parseAuthorization, readSigningTime, rejectQueryAuthentication,
} from './sigv4-request.js';
import { MISMATCH, expectedSignature, hasRemovableSegments } from './sigv4-signature.js';

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
  /**
   * Headers, lower-case, that must be among the signed ones besides `host`: those that choose what the request does.
   * Cognito Identity names the operation in `x-amz-target` (every official client signs it); unsigned, a captured
   * DescribeIdentityPool could be replayed as DeleteIdentityPool with the same body within the clock skew.
   */
  mustSign?: readonly string[];
}

const DEFAULT_MAX_SKEW_MS = 15 * 60 * 1000;

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

  const signature = expectedSignature(req, headers, auth, time, credentials.secretAccessKey);
  // Awaited only while the day's signing key is being derived.
  const expected = typeof signature === 'string' ? signature : await signature;
  if (sameText(expected, auth.signature)) return credentials.principal;
  // A path with `.`, `..` or empty segments: the clients that sign it without resolving them (JS v2) are as right.
  if (hasRemovableSegments(req.rawPath)) {
    const asSent = await expectedSignature(req, headers, auth, time, credentials.secretAccessKey, 'as-sent');
    if (sameText(asSent, auth.signature)) return credentials.principal;
  }
  throw errors.invalidSignature(MISMATCH);
}

function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | undefined)?.then === 'function';
}
