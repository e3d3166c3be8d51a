import { errors } from '../api/errors.js';

/**
 * Opaque pagination tokens: base64url JSON of the keyset position after the last item returned, so a page
 * never repeats nor skips an item, whatever is written between pages. A malformed token is the caller's
 * error (InvalidParameterException), never a 500.
 */
export function encodePageToken(position: unknown): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

export function decodePageToken<T>(token: string, isValid: (value: unknown) => value is T): T {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  if (!isValid(value)) throw errors.invalidParameter(`Invalid NextToken: '${token.slice(0, 64)}'`);
  return value;
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
}

export function isRecordsPosition(v: unknown): v is RecordsPosition {
  const p = v as RecordsPosition;
  return typeof p === 'object' && p !== null && Number.isSafeInteger(p.bound) && Number.isSafeInteger(p.syncCount) &&
    typeof p.key === 'string' && (p.session === undefined || typeof p.session === 'string') &&
    (p.exists === undefined || typeof p.exists === 'boolean') &&
    (p.deletedAfter === undefined || typeof p.deletedAfter === 'boolean');
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
