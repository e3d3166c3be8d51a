import { errors } from '../api/errors.js';
import { hmacSha256, sameText } from '../hmac.js';

/**
 * SyncSessionTokens (SPEC §5.5): issued by ListRecords, required by UpdateRecords, consumed by a successful
 * UpdateRecords only. A token is `<payload>.<mac>`, both base64url: the payload binds pool, identity, dataset,
 * a random session id, an expiry and the dataset's last deletion as the listing saw it; the MAC (HMAC-SHA256 under
 * a server key kept in the database) makes it unforgeable, so any instance sharing the database can check it
 * without state. Whether a session was consumed is the one thing kept server-side (storage's consumed-session set).
 */
export interface SyncSession {
  readonly identityPoolId: string;
  readonly identityId: string;
  readonly datasetName: string;
  readonly sessionId: string;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
  /**
   * The dataset's last deletion when the session began (its count then, null when never deleted). A dataset deleted
   * since is a conflict (see planUpdate). Absent in tokens issued before it was bound (version 1).
   */
  readonly deletionMark?: number | null;
}

export const INVALID_SESSION_MESSAGE = 'SyncSessionToken not valid for these inputs';

/**
 * True when the dataset was deleted after the session's listing: its last deletion (`lastDeletedAtSyncCount`, null
 * when never deleted) is not the one the session saw. A token that bound no deletion (version 1) is not judged.
 */
export function deletedSinceListing(
  deletionMark: number | null | undefined, lastDeletedAtSyncCount: number | null,
): boolean {
  return deletionMark !== undefined && deletionMark !== lastDeletedAtSyncCount;
}

function mac(key: Buffer, payload: string): Buffer {
  return hmacSha256(key).update(payload).digest();
}

export function issueSyncSessionToken(key: Buffer, session: SyncSession): string {
  const payload = Buffer.from(
    JSON.stringify([
      2, session.identityPoolId, session.identityId, session.datasetName, session.sessionId, session.expiresAt,
      session.deletionMark ?? null,
    ]),
  ).toString('base64url');
  return `${payload}.${mac(key, payload).toString('base64url')}`;
}

/**
 * Checks a token against the dataset the request names and the current time; throws
 * InvalidParameterException when it is forged, for another dataset, or expired.
 */
export function verifySyncSessionToken(
  key: Buffer,
  token: string,
  expected: { identityPoolId: string; identityId: string; datasetName: string },
  now: number,
): SyncSession {
  const session = decode(key, token);
  if (
    !session ||
    session.identityPoolId !== expected.identityPoolId ||
    session.identityId !== expected.identityId ||
    session.datasetName !== expected.datasetName
  ) {
    throw errors.invalidParameter(INVALID_SESSION_MESSAGE);
  }
  if (session.expiresAt <= now) throw errors.invalidParameter('SyncSessionToken has expired; call ListRecords for a new one');
  return session;
}

function decode(key: Buffer, token: string): SyncSession | undefined {
  const dot = token.indexOf('.');
  if (dot <= 0) return undefined;
  const payload = token.slice(0, dot);
  if (!sameText(token.slice(dot + 1), mac(key, payload).toString('base64url'))) return undefined;
  try {
    const [version, identityPoolId, identityId, datasetName, sessionId, expiresAt, deletionMark] = JSON.parse(
      Buffer.from(payload, 'base64url').toString('utf8'),
    ) as [number, string, string, string, string, number, number | null];
    if (version === 1) return { identityPoolId, identityId, datasetName, sessionId, expiresAt };
    if (version !== 2) return undefined;
    return { identityPoolId, identityId, datasetName, sessionId, expiresAt, deletionMark };
  } catch {
    return undefined;
  }
}
