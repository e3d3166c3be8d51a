import { describe, expect, it } from 'vitest';
import { deltaView } from '../../src/domain/delta.js';
import type { DatasetRow } from '../../src/storage/types.js';

const row = (syncCount: number, deleted: boolean, lastDeletedAtSyncCount: number | null): DatasetRow => ({
  identityId: 'i', datasetName: 'd', syncCount, deleted, lastDeletedAtSyncCount, createdAt: 0, lastModifiedAt: 0,
  lastModifiedBy: 'x', numRecords: 0, dataStorage: 0, mergeParent: null,
});

describe('deltaView', () => {
  it.each([
    ['never existed, fresh client', undefined, 0, { datasetExists: false, deletedAfterRequestedSyncCount: false, reportedSyncCount: 0 }],
    ['live dataset', row(5, false, null), 3, { datasetExists: true, deletedAfterRequestedSyncCount: false, reportedSyncCount: 5, sinceSyncCount: 3, upToSyncCount: 5 }],
    ['deleted, client synced before', row(5, true, 5), 5, { datasetExists: false, deletedAfterRequestedSyncCount: true, reportedSyncCount: 0 }],
    ['deleted, fresh client is not told to delete', row(5, true, 5), 0, { datasetExists: false, deletedAfterRequestedSyncCount: false }],
    ['re-created, client from before the deletion', row(7, false, 5), 4, { datasetExists: true, deletedAfterRequestedSyncCount: true, reportedSyncCount: 7 }],
    ['re-created, client after the re-creation', row(7, false, 5), 6, { datasetExists: true, deletedAfterRequestedSyncCount: false }],
  ])('%s', (_name, dataset, last, expected) => {
    expect(deltaView(dataset, last)).toMatchObject(expected);
  });

  it.each([
    [undefined, 1],
    [row(3, false, null), 4],
    [row(7, false, 5), 8],
    [row(3, false, null), -1],
  ])('refuses lastSyncCount %#', (dataset, last) => {
    expect(() => deltaView(dataset, last)).toThrow(/No such SyncCount/);
  });
});
