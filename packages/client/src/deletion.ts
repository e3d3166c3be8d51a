import type { LocalCopy } from './local-copy.js';
import type { Remote } from './remote.js';
import { classify } from './retry.js';

/**
 * Carries out the app's delete() on the server. A DeleteDataset whose answer was never recorded (lost, a crash) may
 * have been done, and sending it again then would delete what other devices wrote since. So before the first send
 * the dataset's current sync count is read (`deletionBase`) and noted with the request (`deletionSent`); a deletion
 * sent but not answered is then checked with a listing from that count: the server reports the dataset deleted
 * after it only for this deletion or a later one (never for one another device made before), so that or an absent
 * dataset means done, and otherwise it is sent again, as a first attempt would be. A dataset absent at the first
 * read has nothing to delete. The count the device last synced is no base: another device may have deleted and
 * re-created the dataset after it, which that listing would take for this deletion.
 * `afterAnswer` runs after each answer, before it is recorded (it may throw to drop it, e.g. after a wipe).
 */
export async function deleteOnServer(
  copy: LocalCopy, remote: Remote, datasetName: string, afterAnswer: () => void = () => {},
): Promise<void> {
  if (copy.deletionSent) {
    const done = await deletedSince(remote, datasetName, copy.deletionBase);
    afterAnswer();
    if (done) return deletionDone(copy);
  } else {
    const now = await remote.datasetState(datasetName, 0);
    afterAnswer();
    if (!now.exists) return deletionDone(copy);
    copy.deletionBase = now.syncCount;
    copy.deletionSent = true;
    await copy.persist();
  }
  await remote.deleteDataset(datasetName);
  afterAnswer();
  await deletionDone(copy);
}

/**
 * Whether the server reports the dataset deleted after `base`, or absent. A server restored from a backup older than
 * `base` ("No such SyncCount") has lost what the device had seen: the deletion is sent over what it holds.
 */
async function deletedSince(remote: Remote, datasetName: string, base: number): Promise<boolean> {
  try {
    const state = await remote.datasetState(datasetName, base);
    return state.deletedAfter || !state.exists;
  } catch (err) {
    if (classify(err) === 'server-reset') return false;
    throw err;
  }
}

/** The server has deleted the dataset the app deleted: later local changes start a new one from count 0. */
export async function deletionDone(copy: LocalCopy): Promise<void> {
  copy.pendingDelete = false;
  copy.deletionSent = false;
  copy.deletionBase = 0;
  copy.lastSyncCount = 0;
  await copy.persist();
}
