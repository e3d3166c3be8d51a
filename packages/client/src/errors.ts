/** Why a synchronize() failed. The local copy is unchanged by a failed sync apart from what it had pulled. */
export type SyncFailure =
  /** The server kept answering 409, 429, 5xx or could not be reached, after every retry. */
  | 'retries-exhausted'
  /** The server refused the request for good (credentials, quota, validation); `cause` says why. */
  | 'rejected'
  /** The dataset handle was closed (the client changed identity or was closed). */
  | 'closed'
  /**
   * Something on this device failed, not the server or the network: the local store could not write (full,
   * unavailable), or the conflict resolver or deletion policy function threw or answered something outside its
   * type (the message names the answer). Retrying would not help; `cause` says which. Nothing of the failed step
   * was applied.
   */
  | 'local-failure';

export class SyncError extends Error {
  override readonly name = 'SyncError';
  constructor(readonly reason: SyncFailure, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * A dataset name or record key outside what Cognito Sync accepts, a value that is not a string, or a key or value
 * that is not well-formed UTF-16 (a lone surrogate).
 */
export class InvalidArgumentError extends Error {
  override readonly name = 'InvalidArgumentError';
}

/** The dataset handle belongs to an identity the client no longer uses, or the client was closed. */
export class ClosedError extends Error {
  override readonly name = 'ClosedError';
}

/**
 * The local store failed to keep a change (for example IndexedDB's QuotaExceededError, or a full disk): `cause` is
 * the store's error. The change it was keeping is undone in memory too, so what the app reads is what is stored.
 */
export class LocalStoreError extends Error {
  override readonly name = 'LocalStoreError';
}
