import { describe, expect, it } from 'vitest';
import { checkPatchCount, maxPatchesPerUpdate, planUpdate, type Patch } from '../../src/domain/update-plan.js';
import { defaultConfig } from '../../src/config.js';
import type { CurrentRecord, DatasetRow, DatasetWriteState } from '../../src/storage/types.js';
import { ServiceError } from '../../src/api/errors.js';

const limits = { ...defaultConfig().limits, maxDatasetsPerIdentity: 2, maxRecordsPerDataset: 3, maxDatasetBytes: 20 };
const ctx = { identityId: 'us-east-1:1', datasetName: 'd', now: 1000, modifiedBy: 'us-east-1:1', limits };

function dataset(over: Partial<DatasetRow> = {}): DatasetRow {
  return {
    identityId: 'us-east-1:1', datasetName: 'd', syncCount: 4, deleted: false, lastDeletedAtSyncCount: null,
    createdAt: 1, lastModifiedAt: 2, lastModifiedBy: 'x', numRecords: 1, dataStorage: 2, mergeParent: null, ...over,
  };
}

function state(over: Partial<DatasetWriteState> & { records?: Record<string, CurrentRecord> } = {}): DatasetWriteState {
  return {
    identity: over.identity,
    dataset: over.dataset,
    currentRecords: new Map(Object.entries(over.records ?? {})),
    liveDatasetCount: over.liveDatasetCount ?? 0,
    sessionConsumed: over.sessionConsumed ?? false,
  };
}

const replace = (key: string, value: string, syncCount = 0): Patch => ({ op: 'replace', key, value, syncCount, deviceLastModifiedAt: undefined });
const remove = (key: string, syncCount: number): Patch => ({ op: 'remove', key, value: '', syncCount, deviceLastModifiedAt: undefined });

function errorOf(fn: () => unknown): ServiceError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ServiceError) return err;
    throw err;
  }
  throw new Error('expected a ServiceError');
}

describe('planUpdate', () => {
  it.each([
    ['creates a dataset at count 1', state(), [replace('a', '1')], 1, 1, 2],
    ['adds one to an existing count', state({ dataset: dataset(), records: { k: { syncCount: 3, bytes: 2, live: true } } }), [replace('k', 'vv', 3)], 5, 1, 3],
    ['a remove leaves a tombstone and frees its bytes', state({ dataset: dataset(), records: { k: { syncCount: 3, bytes: 2, live: true } } }), [remove('k', 3)], 5, 0, 0],
    ['re-creates a deleted dataset continuing its count', state({ dataset: dataset({ deleted: true, numRecords: 0, dataStorage: 0 }) }), [replace('a', 'b')], 5, 1, 2],
  ])('%s', (_name, s, patches, count, numRecords, bytes) => {
    const plan = planUpdate(s, patches, ctx);
    expect(plan.dataset).toMatchObject({ syncCount: count, numRecords, dataStorage: bytes, deleted: false });
    expect(plan.records.every((r) => r.syncCount === count)).toBe(true);
  });

  it('stores a tombstone as null and ignores the value sent with remove', () => {
    const plan = planUpdate(state({ records: { k: { syncCount: 0, bytes: 0, live: false } } }), [remove('k', 0)], ctx);
    expect(plan.records[0]?.value).toBeNull();
  });

  it('an empty patch list changes nothing', () => {
    expect(planUpdate(state(), [], ctx)).toEqual({ dataset: undefined, records: [] });
    expect(planUpdate(state({ dataset: dataset() }), [], ctx)).toEqual({ dataset: undefined, records: [] });
  });

  it('a request whose patches were all dropped (by a Sync Trigger) still moves the count, writing no record', () => {
    const emptied = { ...ctx, requestHadPatches: true };
    const existing = planUpdate(state({ dataset: dataset() }), [], emptied);
    expect(existing).toEqual({ dataset: { ...dataset(), syncCount: 5, lastModifiedAt: 1000, lastModifiedBy: 'us-east-1:1' }, records: [] });
    const created = planUpdate(state({ liveDatasetCount: 1 }), [], emptied);
    expect(created.dataset).toMatchObject({ syncCount: 1, numRecords: 0, dataStorage: 0, createdAt: 1000 });
    expect(created.records).toEqual([]);
    // Creating the dataset is still creating one: the quota applies.
    expect(errorOf(() => planUpdate(state({ liveDatasetCount: 2 }), [], emptied)).code).toBe('LimitExceededException');
  });

  it.each([
    ['stale count', { k: { syncCount: 2, bytes: 1, live: true } }, [replace('k', 'v', 1)], 'Current SyncCount for: k is: 2 not: 1'],
    ['count ahead of the server', {}, [replace('k', 'v', 3)], 'Current SyncCount for: k is: 0 not: 3'],
    ['tombstone keeps its count', { k: { syncCount: 2, bytes: 0, live: false } }, [replace('k', 'v', 0)], 'Current SyncCount for: k is: 2 not: 0'],
  ])('conflict: %s', (_name, records, patches, message) => {
    const err = errorOf(() => planUpdate(state({ dataset: dataset(), records }), patches, ctx));
    expect(err.code).toBe('ResourceConflictException');
    expect(err.message).toBe(message);
  });

  it('refuses a consumed session', () => {
    expect(errorOf(() => planUpdate(state({ sessionConsumed: true }), [replace('a', 'b')], ctx)).code).toBe('InvalidParameterException');
  });

  it.each([
    ['datasets per identity: at the limit', state({ liveDatasetCount: 2 }), [replace('a', 'b')]],
    ['records per dataset: one over', state({ dataset: dataset({ numRecords: 3 }) }), [replace('x', '1')]],
    ['bytes per dataset: one over', state({ dataset: dataset({ dataStorage: 18 }) }), [replace('k', 'vv')]],
  ])('limit: %s', (_name, s, patches) => {
    expect(errorOf(() => planUpdate(s, patches, ctx)).code).toBe('LimitExceededException');
  });

  it.each([
    ['one dataset under the limit', state({ liveDatasetCount: 1 }), [replace('a', 'b')]],
    ['records exactly at the limit', state({ dataset: dataset({ numRecords: 2 }) }), [replace('x', '1')]],
    ['bytes exactly at the limit', state({ dataset: dataset({ dataStorage: 17 }) }), [replace('k', 'vv')]],
    ['shrinking a dataset above a lowered limit', state({ dataset: dataset({ numRecords: 9, dataStorage: 50 }), records: { k: { syncCount: 1, bytes: 5, live: true } } }), [remove('k', 1)]],
  ])('within limits: %s', (_name, s, patches) => {
    expect(planUpdate(s, patches, ctx).dataset).toBeDefined();
  });
});

describe('planUpdate with a session that saw an earlier deletion state', () => {
  const deletedAt4 = state({ dataset: dataset({ deleted: true, lastDeletedAtSyncCount: 4, numRecords: 0, dataStorage: 0 }) });
  it.each([
    ['listed before the deletion', deletedAt4, null],
    ['listed before a second deletion', deletedAt4, 2],
    ['listed before a re-created dataset was deleted', state({ dataset: dataset({ syncCount: 6, lastDeletedAtSyncCount: 4 }) }), null],
  ])('is a conflict when %s', (_name, s, mark) => {
    const err = errorOf(() => planUpdate(s, [replace('a', '1')], { ...ctx, deletionMark: mark }));
    expect(err.code).toBe('ResourceConflictException');
    expect(err.message).toMatch(/deleted after this sync session began/);
  });

  it.each([
    ['the same deletion', deletedAt4, 4],
    ['a dataset never deleted', state({ dataset: dataset() }), null],
    ['a dataset that does not exist', state(), null],
    ['a token that bound no deletion', deletedAt4, undefined],
  ])('writes when the session saw %s', (_name, s, mark) => {
    expect(planUpdate(s, [replace('a', '1')], { ...ctx, deletionMark: mark }).dataset).toBeDefined();
  });
});

describe('patches per UpdateRecords', () => {
  const limits = (maxRecordsPerDataset: number) => ({ ...defaultConfig().limits, maxRecordsPerDataset });

  it('is twice the record limit, and never under 2,048 (clients push in chunks sized for the default)', () => {
    expect(maxPatchesPerUpdate(limits(1024))).toBe(2048);
    expect(maxPatchesPerUpdate(limits(10))).toBe(2048);
    expect(maxPatchesPerUpdate(limits(5000))).toBe(10000);
  });

  it('refuses more with LimitExceededException', () => {
    expect(() => checkPatchCount(2048, limits(10))).not.toThrow();
    expect(() => checkPatchCount(2049, limits(10))).toThrow(expect.objectContaining({ code: 'LimitExceededException' }));
  });
});
