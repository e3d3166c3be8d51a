import { errors } from '../api/errors.js';
import { hmacSha256, sameText } from '../hmac.js';

/**
 * Opaque pagination tokens: `<payload>.<mac>`, base64url. The payload is JSON of the keyset position after the last
 * item returned, so a page never repeats nor skips an item, whatever is written between pages. The MAC (HMAC-SHA256
 * under the server key that signs sync session tokens, cut to 128 bits) covers the payload and the listing the token
 * continues: a token altered, forged, or handed to another listing (another dataset, identity, pool, or
 * `lastSyncCount`) is the caller's error (InvalidParameterException), never a 500 nor a page of someone else's
 * figures. `listing` names what the pages list, e.g. `['ListRecords', pool, identity, dataset, lastSyncCount]`.
 */
export function encodePageToken(key: Buffer, listing: readonly unknown[], position: unknown): string {
  const payload = Buffer.from(JSON.stringify(position)).toString('base64url');
  return `${payload}.${pageMac(key, listing, payload)}`;
}

export function decodePageToken<T>(
  key: Buffer, listing: readonly unknown[], token: string, isValid: (value: unknown) => value is T,
): T {
  const dot = token.indexOf('.');
  let value: unknown;
  if (dot > 0 && sameText(token.slice(dot + 1), pageMac(key, listing, token.slice(0, dot)))) {
    try {
      value = JSON.parse(Buffer.from(token.slice(0, dot), 'base64url').toString('utf8'));
    } catch {
      value = undefined;
    }
  }
  if (!isValid(value)) throw errors.invalidParameter(`Invalid NextToken: '${token.slice(0, 64)}'`);
  return value;
}

// The text MACed starts with a line no base64url payload can hold, so a page token's MAC is never a valid
// sync session token's (whose MAC covers its payload alone) under the same key.
function pageMac(key: Buffer, listing: readonly unknown[], payload: string): string {
  return hmacSha256(key).update(`cosync page token\n${JSON.stringify(listing)}\n${payload}`).digest()
    .subarray(0, 16).toString('base64url');
}

/**
 * ListRecords position: the snapshot bound (DatasetSyncCount when the listing began, so every page reports the
 * same figures), the last (syncCount, key) returned, and the SyncSessionToken of the first page, which every later
 * page returns again (SPEC §4.1: Android keeps the last page's token, .NET the first's). The token carries its own
 * MAC and is verified again when read back, so a forged page token cannot extend a session.
 */
export interface RecordsPosition {
  readonly bound: number;
  readonly syncCount: number;
  readonly key: string;
  readonly session?: string;
  /**
   * The first page's DatasetExists and DatasetDeletedAfterRequestedSyncCount, which every later page reports again
   * even when the dataset is deleted meanwhile. Absent in tokens issued before they were carried.
   */
  readonly exists?: boolean;
  readonly deletedAfter?: boolean;
  /** The dataset's last deletion as the first page saw it (its count then; null when never deleted). */
  readonly mark?: number | null;
  /**
   * The first page's MergedDatasetNames (empty when it had none), which every later page reports again (Android
   * keeps the last page's, .NET the first's). Absent when there were too many to carry (list-records.ts) or the
   * token predates it: later pages then report the names current when they are read.
   */
  readonly merged?: readonly string[];
  /** The first page's LastModifiedBy (null when it had none). Absent in tokens issued before it was carried. */
  readonly by?: string | null;
}

export function isRecordsPosition(v: unknown): v is RecordsPosition {
  const p = v as RecordsPosition;
  return typeof p === 'object' && p !== null && Number.isSafeInteger(p.bound) && Number.isSafeInteger(p.syncCount) &&
    typeof p.key === 'string' && (p.session === undefined || typeof p.session === 'string') &&
    (p.exists === undefined || typeof p.exists === 'boolean') &&
    (p.deletedAfter === undefined || typeof p.deletedAfter === 'boolean') &&
    (p.mark === undefined || p.mark === null || Number.isSafeInteger(p.mark)) &&
    (p.merged === undefined || (Array.isArray(p.merged) && p.merged.every((name) => typeof name === 'string'))) &&
    (p.by === undefined || p.by === null || typeof p.by === 'string');
}

/** Name-keyed listings (datasets, identities): the last name returned. */
export function isNamePosition(v: unknown): v is { readonly after: string } {
  const p = v as { after: unknown };
  return typeof p === 'object' && p !== null && typeof p.after === 'string';
}

/**
 * The page size for a list call: maxResults when given (1 or more), capped at the configured maximum;
 * `whenAbsent` when the caller gave none (iOS never pages, so its default must hold the whole answer).
 */
export function pageSize(maxResults: number | undefined, cap: number, whenAbsent: number): number {
  if (maxResults === undefined) return whenAbsent;
  if (maxResults < 1) throw errors.invalidParameter(`1 validation error detected: Value '${maxResults}' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1`);
  return Math.min(maxResults, cap);
}
