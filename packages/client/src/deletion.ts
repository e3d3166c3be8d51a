import type { LocalCopy } from './local-copy.js';
import type { Remote } from './remote.js';
import { classify } from './retry.js';

/**
 * Carries out the app's delete() on the server. The request is noted in the store before it is sent
 * (`deletionSent`): a DeleteDataset whose answer was never recorded (lost, a crash) may have been done, and sending
 * it again then would delete what other devices wrote since. So such a deletion is first checked with a listing
 * from the highest sync count the copy had seen when the app deleted it (`deletionBase`): if the server reports the
 * dataset deleted after that count, or absent, the deletion counts as done and nothing newer is deleted. Otherwise
 * no deletion happened since (the server raises the flag for any deletion after that count, which is above 0 once
 * the device has synced anything) and it is sent, as a first attempt would be. The dataset's sync count proves
 * nothing either way: this device's own pushes move it too.
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
