// Database rows and the domain objects read from them (SQLite adapter).
import type { DatasetRow, DatasetView, Device, Identity, IdentityPool, PoolSyncSettings, RecordRow } from '../types.js';

export interface PoolDb { id: string; name: string; created_at: number; doc: string }
export interface IdentityDb { id: string; pool_id: string; created_at: number; last_modified_at: number; disabled: number }
export interface DatasetDb {
  identity_id: string; name: string; sync_count: number; deleted: number; last_deleted_at_sync_count: number | null;
  created_at: number; last_modified_at: number; last_modified_by: string; num_records: number;
  data_storage: number; merge_parent: string | null;
}
export interface DeviceDb { device_id: string; identity_id: string; platform: string; token: string; created_at: number }
export const map = <R, T>(row: R | undefined, to: (row: R) => T): T | undefined => (row === undefined ? undefined : to(row));
type PoolDoc = Omit<IdentityPool, 'identityPoolId' | 'identityPoolName' | 'createdAt'>;

export function poolDoc(pool: IdentityPool): string {
  const { identityPoolId: _id, identityPoolName: _name, createdAt: _created, ...doc } = pool;
  return JSON.stringify(doc satisfies PoolDoc);
}
export const toPool = (r: PoolDb): IdentityPool => ({
  identityPoolId: r.id, identityPoolName: r.name, ...(JSON.parse(r.doc) as PoolDoc), createdAt: r.created_at,
});
export const toIdentity = (r: IdentityDb): Identity => ({
  identityId: r.id, identityPoolId: r.pool_id, createdAt: r.created_at, lastModifiedAt: r.last_modified_at,
  disabled: r.disabled === 1,
});
export const toDataset = (r: DatasetDb): DatasetRow => ({
  identityId: r.identity_id, datasetName: r.name, syncCount: r.sync_count, deleted: r.deleted === 1,
  lastDeletedAtSyncCount: r.last_deleted_at_sync_count, createdAt: r.created_at, lastModifiedAt: r.last_modified_at,
  lastModifiedBy: r.last_modified_by, numRecords: r.num_records, dataStorage: r.data_storage,
  mergeParent: r.merge_parent,
});

// Raw rows (arrays, in the SELECT's column order) for the statements every sync request runs: better-sqlite3 builds
// an array faster than an object with a property per column, and reading it back by index is cheaper too.
export type Value = string | number | null;
/** IDENTITY columns: id, pool_id, created_at, last_modified_at, disabled. */
export const IDENTITY_COLUMNS = 5;
/** DATASET columns, in order (see prepareStatements). */
export const DATASET_COLUMNS = 11;
export const identityAt = (r: readonly Value[], o: number): Identity | undefined => (r[o] === null ? undefined : {
  identityId: r[o] as string, identityPoolId: r[o + 1] as string, createdAt: r[o + 2] as number,
  lastModifiedAt: r[o + 3] as number, disabled: r[o + 4] === 1,
});
/** The dataset whose columns start at `o`; undefined when they are NULL (no such row in a LEFT JOIN). */
export const datasetAt = (r: readonly Value[], o: number): DatasetRow | undefined => (r[o] === null ? undefined : {
  identityId: r[o] as string, datasetName: r[o + 1] as string, syncCount: r[o + 2] as number, deleted: r[o + 3] === 1,
  lastDeletedAtSyncCount: r[o + 4] as number | null, createdAt: r[o + 5] as number, lastModifiedAt: r[o + 6] as number,
  lastModifiedBy: r[o + 7] as string, numRecords: r[o + 8] as number, dataStorage: r[o + 9] as number,
  mergeParent: r[o + 10] as string | null,
});
export const toDatasetView = (r: readonly Value[]): DatasetView => {
  const merged = r[IDENTITY_COLUMNS + DATASET_COLUMNS] as string;
  return {
    identity: identityAt(r, 0),
    dataset: datasetAt(r, IDENTITY_COLUMNS),
    // Almost never a merge target: the empty list is not parsed. Names are ASCII (the API's pattern), so the default
    // sort is SQLite's binary order, as listMergedNames's ORDER BY gives it.
    mergedDatasetNames: merged === '[]' ? [] : (JSON.parse(merged) as string[]).sort(),
  };
};
/** RECORD columns: key, value, sync_count, last_modified_at, last_modified_by, device_last_modified_at. */
export const recordOf = (r: readonly Value[]): RecordRow => ({
  key: r[0] as string, value: r[1] as string | null, syncCount: r[2] as number, lastModifiedAt: r[3] as number,
  lastModifiedBy: r[4] as string, deviceLastModifiedAt: r[5] as number,
});
export const toDevice = (r: DeviceDb): Device => ({
  deviceId: r.device_id, identityId: r.identity_id, platform: r.platform, token: r.token, createdAt: r.created_at,
});

export const DEFAULT_SETTINGS: PoolSyncSettings = {
  events: {}, pushSync: null, cognitoStreams: null,
  bulkPublish: { status: 'NOT_STARTED', startedAt: null, completedAt: null, failureMessage: null },
};
