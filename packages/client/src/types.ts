/**
 * The local copy of a dataset as it is kept in a store, and the values the public API hands out.
 * Everything here is plain JSON, so every store (memory, IndexedDB, file) keeps it as is.
 */

/**
 * One record of the local copy. A removed record stays as a tombstone (`value: null`), after it is synced too: the
 * server keeps the removal at its sync count and takes a later write of the key only if it names that count, so a
 * put after a synced removal needs it (without it the put would meet the old removal as a conflict). Tombstones
 * pulled from the server are kept for the same reason.
 */
export interface LocalRecord {
  readonly key: string;
  /** The value; `null` for a removed record. The empty string is a value like any other. */
  readonly value: string | null;
  /** The server's sync count of the version this record is based on (0: never seen by the server). */
  readonly syncCount: number;
  /** When the value was written (epoch ms): the device's clock for local edits, the record's date for remote ones. */
  readonly modifiedAt: number;
  /**
   * 0 when the record matches the server; otherwise the dataset's change counter at the last local edit.
   * A push clears it only if it still holds the number that was pushed, so an edit made during a sync stays dirty.
   */
  readonly pending: number;
}

/** The persisted state of one dataset of one identity. */
export interface DatasetSnapshot {
  readonly format: 1;
  /** The server's dataset sync count this copy is up to date with (0: never synced). */
  readonly lastSyncCount: number;
  /** The app deleted the dataset; the next sync deletes it on the server before pushing newer edits. */
  readonly pendingDelete: boolean;
  /** A DeleteDataset for `pendingDelete` was sent and its answer not recorded (it may have been done); absent: false. */
  readonly deletionSent?: boolean;
  /**
   * With `deletionSent`: the dataset's sync count on the server, read just before the deletion was first sent (a
   * deletion after it is this one or a later one); absent: 0.
   */
  readonly deletionBase?: number;
  /** Incremented by every local edit; see LocalRecord.pending. */
  readonly changeCounter: number;
  readonly records: readonly LocalRecord[];
  /**
   * Records as a push sent them, stored before the request went out and until its answer is recorded or a listing
   * from before it has been applied: after a crash or close() the next listing recognises the device's own write by
   * them (no conflict with itself). Absent when empty, and in snapshots of earlier versions.
   */
  readonly pushing?: readonly LocalRecord[];
}

/** A value a store can hold: a dataset snapshot or a small piece of client metadata. */
export type StoredValue = DatasetSnapshot | IdentityState;

/** Which identity this device uses in a pool, kept so that a restart resumes the same identity. */
export interface IdentityState {
  readonly format: 1;
  readonly identityId: string;
  /** True once logins were presented for this identity; a guest (false) is merged into an account on login. */
  readonly authenticated: boolean;
  /**
   * Who the logins that obtained this identity name (see loginsFingerprint in identity.ts); absent for a guest, for
   * logins whose tokens name nobody (opaque tokens) and for entries written by earlier versions. A start offline
   * resumes this identity only for logins with the same fingerprint.
   */
  readonly loginsFingerprint?: string;
}

export function emptySnapshot(): DatasetSnapshot {
  return { format: 1, lastSyncCount: 0, pendingDelete: false, changeCounter: 0, records: [] };
}
