import { errors } from '../api/errors.js';
import type { DatasetRow } from '../storage/types.js';

/** What ListRecords reports about a dataset for a client that last synced at `lastSyncCount` (SPEC §5.3, §5.6). */
export interface DeltaView {
  readonly datasetExists: boolean;
  /** True when the dataset was deleted after the client's last sync (so it must drop or re-push its copy). */
  readonly deletedAfterRequestedSyncCount: boolean;
  /** The DatasetSyncCount to report: 0 while the dataset is deleted, so clients that adopt it start over. */
  readonly reportedSyncCount: number;
  /** Records with a count above this are the delta. */
  readonly sinceSyncCount: number;
  /** The internal count now: the snapshot bound for this listing. */
  readonly upToSyncCount: number;
}

/**
 * Rules (decisions recorded in docs/decisions.md):
 * - counts never go back, not even across delete and re-create, so an old client's lastSyncCount stays valid;
 * - the deletion flag is raised only for lastSyncCount > 0 and only when a deletion happened at or after it
 *   (a fresh device must not be told to delete what it never had);
 * - lastSyncCount above the dataset's count, with no deletion in between, is the client's error:
 *   "No such SyncCount: N exists for this Dataset".
 */
export function deltaView(dataset: DatasetRow | undefined, lastSyncCount: number): DeltaView {
  if (lastSyncCount < 0) throw errors.invalidParameter(`No such SyncCount: ${lastSyncCount} exists for this Dataset`);
  const internal = dataset?.syncCount ?? 0;
  const deletedAt = dataset?.lastDeletedAtSyncCount ?? null;
  const deletedAfter = lastSyncCount > 0 && deletedAt !== null && lastSyncCount <= deletedAt;
  if (!deletedAfter && lastSyncCount > internal) {
    throw errors.invalidParameter(`No such SyncCount: ${lastSyncCount} exists for this Dataset`);
  }
  const exists = dataset !== undefined && !dataset.deleted;
  return {
    datasetExists: exists,
    deletedAfterRequestedSyncCount: deletedAfter,
    reportedSyncCount: exists ? internal : 0,
    sinceSyncCount: lastSyncCount,
    upToSyncCount: internal,
  };
}
