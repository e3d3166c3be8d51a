import { errors } from '../api/errors.js';
import type { Limits } from '../config.js';
import type { DatasetRow, DatasetWriteState, RecordRow, WritePlan } from '../storage/types.js';
import { INVALID_SESSION_MESSAGE, deletedSinceListing } from './sync-session.js';

/** One patch of an UpdateRecords request, in domain terms. */
export interface Patch {
  readonly op: 'replace' | 'remove';
  readonly key: string;
  /** Ignored for `remove` (amazon-cognito-js sends "" there). An absent value on `replace` stores "". */
  readonly value: string | undefined;
  /** The caller's last known server sync count of this record; 0 for a record it never saw. */
  readonly syncCount: number;
  /** Epoch ms; the server's time when the client gave none. */
  readonly deviceLastModifiedAt: number | undefined;
}

export interface UpdateContext {
  readonly identityId: string;
  readonly datasetName: string;
  readonly now: number;
  readonly modifiedBy: string;
  readonly limits: Limits;
  /** The session's view of the dataset's last deletion (SyncSession.deletionMark); undefined: not bound. */
  readonly deletionMark?: number | null | undefined;
  /**
   * The client's request carried patches, whatever is left of them to write. A push that a Sync Trigger or a
   * beforeUpdateRecords hook emptied still moves the dataset's count by one, with no record written: iOS moves its
   * last sync count to its count + 1 after every successful push, and would otherwise ask for a count the dataset
   * never reaches ("No such SyncCount") on every later sync.
   */
  readonly requestHadPatches?: boolean;
}

export interface UpdatePlan extends WritePlan {
  /** The records written by this request, as the response reports them. */
  readonly records: readonly RecordRow[];
}

const utf8Bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/**
 * Decides an UpdateRecords against the dataset's current state (SPEC §5.2, §5.4). All or nothing:
 * - a consumed session ⇒ InvalidParameterException;
 * - a dataset deleted since the session's listing ⇒ 409 ResourceConflictException: the client lists again and
 *   learns of the deletion (DatasetDeletedAfterRequestedSyncCount), where a write would re-create the dataset at its
 *   count + 1 and the client, reading that as "nothing happened in between", would keep the deleted records for good;
 * - any patch whose SyncCount differs from the record's current count (0 when never written; a tombstone keeps
 *   its count) ⇒ 409 ResourceConflictException with AWS's message, naming the first such key;
 * - growth past a quota (datasets per identity, records or bytes per dataset) ⇒ LimitExceededException;
 * - otherwise the dataset sync count rises by exactly one and every written record takes the new count;
 *   a `remove` leaves a tombstone (value null). A deleted dataset is re-created, continuing its count.
 * An empty patch list changes nothing (no dataset is created, no count moves) but still uses up the session, unless
 * the request itself carried patches (`requestHadPatches`): the count then rises by one with no record written, the
 * dataset created if need be, under the same quotas.
 */
export function planUpdate(state: DatasetWriteState, patches: readonly Patch[], ctx: UpdateContext): UpdatePlan {
  if (state.sessionConsumed) throw errors.invalidParameter(INVALID_SESSION_MESSAGE);
  if (deletedSinceListing(ctx.deletionMark, state.dataset?.lastDeletedAtSyncCount ?? null)) {
    throw errors.conflict(
      `Dataset '${ctx.datasetName}' was deleted after this sync session began; list its records again`);
  }
  checkConflicts(patches, (key) => state.currentRecords.get(key)?.syncCount);
  if (patches.length === 0 && ctx.requestHadPatches !== true) return { dataset: undefined, records: [] };

  const before = state.dataset;
  const live = before !== undefined && !before.deleted;
  const { numRecords, dataStorage } = sizeAfter(state, patches, live ? before : undefined);
  checkLimits(state, ctx, live ? before : undefined, numRecords, dataStorage);

  const syncCount = (before?.syncCount ?? 0) + 1;
  const records: RecordRow[] = patches.map((p) => ({
    key: p.key,
    value: p.op === 'remove' ? null : (p.value ?? ''),
    syncCount,
    lastModifiedAt: ctx.now,
    lastModifiedBy: ctx.modifiedBy,
    deviceLastModifiedAt: p.deviceLastModifiedAt ?? ctx.now,
  }));
  const dataset: DatasetRow = {
    identityId: ctx.identityId,
    datasetName: ctx.datasetName,
    syncCount,
    deleted: false,
    lastDeletedAtSyncCount: before?.lastDeletedAtSyncCount ?? null,
    createdAt: live ? before.createdAt : ctx.now,
    lastModifiedAt: ctx.now,
    lastModifiedBy: ctx.modifiedBy,
    numRecords,
    dataStorage,
    // A merge lasts until the merged dataset is deleted (SPEC §4.5): one written again after that is a dataset of its
    // own, which its former parent no longer reports.
    mergeParent: live ? before.mergeParent : null,
  };
  return { dataset, records };
}

/**
 * The conflict rule (SPEC §5.4 step 4, decisions: equality): every patch must carry its record's current count
 * (0 when never written; a tombstone keeps its count), else 409 naming the first such key.
 */
export function checkConflicts(patches: readonly Patch[], currentCount: (key: string) => number | undefined): void {
  for (const patch of patches) {
    const current = currentCount(patch.key) ?? 0;
    if (patch.syncCount !== current) {
      throw errors.conflict(`Current SyncCount for: ${patch.key} is: ${current} not: ${patch.syncCount}`);
    }
  }
}

/**
 * Most patches one UpdateRecords may carry: twice the per-dataset record limit, so that a client can replace every
 * record of a full dataset and remove as many more (keys it created and removed offline) in one push, and never
 * under 2,048, what that is at the default limit: clients push in chunks sized for the default (@cosync/client
 * 1,024), whatever limit a server sets. The model sets no bound; without one a single request of 100k removals
 * held a SQLite server for seconds and outlasted PostgreSQL's statement timeout (docs/decisions.md).
 */
export function maxPatchesPerUpdate(limits: Limits): number {
  return Math.max(MIN_PATCHES_PER_UPDATE, 2 * limits.maxRecordsPerDataset);
}

const MIN_PATCHES_PER_UPDATE = 2048;

/** LimitExceededException for a request with more patches than maxPatchesPerUpdate; an input check. */
export function checkPatchCount(count: number, limits: Limits): void {
  const max = maxPatchesPerUpdate(limits);
  if (count > max) {
    throw errors.limitExceeded(
      `UpdateRecords carries ${count} record patches; the maximum is ${max}: send the others in a further request`);
  }
}

function sizeAfter(state: DatasetWriteState, patches: readonly Patch[], live: DatasetRow | undefined) {
  let numRecords = live?.numRecords ?? 0;
  let dataStorage = live?.dataStorage ?? 0;
  for (const p of patches) {
    const current = state.currentRecords.get(p.key);
    if (current?.live) {
      numRecords -= 1;
      dataStorage -= current.bytes;
    }
    if (p.op === 'replace') {
      numRecords += 1;
      dataStorage += utf8Bytes(p.key) + utf8Bytes(p.value ?? '');
    }
  }
  return { numRecords, dataStorage };
}

/** Only growth is refused, so a dataset above a since-lowered quota can still shrink. */
function checkLimits(
  state: DatasetWriteState, ctx: UpdateContext, live: DatasetRow | undefined, numRecords: number, dataStorage: number,
): void {
  const { limits } = ctx;
  if (!live && state.liveDatasetCount >= limits.maxDatasetsPerIdentity) {
    throw errors.limitExceeded(
      `The identity ${ctx.identityId} already has the maximum number of datasets (${limits.maxDatasetsPerIdentity}); delete one before creating ${ctx.datasetName}`,
    );
  }
  if (numRecords > limits.maxRecordsPerDataset && numRecords > (live?.numRecords ?? 0)) {
    throw errors.limitExceeded(
      `Dataset ${ctx.datasetName} would hold ${numRecords} records; the maximum is ${limits.maxRecordsPerDataset}`,
    );
  }
  if (dataStorage > limits.maxDatasetBytes && dataStorage > (live?.dataStorage ?? 0)) {
    throw errors.limitExceeded(
      `Dataset ${ctx.datasetName} would hold ${dataStorage} bytes; the maximum is ${limits.maxDatasetBytes}`,
    );
  }
}
