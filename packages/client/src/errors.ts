/** Why a synchronize() failed. The local copy is unchanged by a failed sync apart from what it had pulled. */
export type SyncFailure =
  /** The server kept answering 409, 429, 5xx or could not be reached, after every retry. */
  | 'retries-exhausted'
  /** The server refused the request for good (credentials, quota, validation); `cause` says why. */
  | 'rejected'
  /** The dataset handle was closed (the client changed identity or was closed). */
  | 'closed';

export class SyncError extends Error {
  override readonly name = 'SyncError';
  constructor(readonly reason: SyncFailure, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A dataset name or record key outside what Cognito Sync accepts, or a value that is not a string. */
export class InvalidArgumentError extends Error {
  override readonly name = 'InvalidArgumentError';
}

/** The dataset handle belongs to an identity the client no longer uses, or the client was closed. */
export class ClosedError extends Error {
  override readonly name = 'ClosedError';
}
