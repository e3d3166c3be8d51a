import type {
  CurrentRecord, DatasetRow, DatasetView, DatasetWriteState, Device, Identity, IdentityPool, PoolSyncSettings, RecordRow,
} from '../types.js';

/** Row shapes of the PostgreSQL schema (migrations.ts) and their mapping to the store's types. */
export const IDENTITY = 'identity_id, pool_id, created_at, last_modified_at, disabled';
export const DATASET = `identity_id, name, sync_count, deleted, last_deleted_at_sync_count, created_at, last_modified_at,
  last_modified_by, num_records, data_storage, merge_parent`;
export const RECORD = 'key, value, sync_count, last_modified_at, last_modified_by, device_last_modified_at';
export const DEVICE = 'identity_id, device_id, platform, token, created_at';

export interface PoolDb { pool_id: string; name: string; created_at: number; doc: PoolDoc }
export interface IdentityDb { identity_id: string; pool_id: string; created_at: number; last_modified_at: number; disabled: boolean }
export interface DatasetDb {
  identity_id: string; name: string; sync_count: number; deleted: boolean; last_deleted_at_sync_count: number | null;
  created_at: number; last_modified_at: number; last_modified_by: string; num_records: number;
  data_storage: number; merge_parent: string | null;
}
export interface RecordDb {
  key: Buffer; value: Buffer | null; sync_count: number; last_modified_at: number; last_modified_by: string;
  device_last_modified_at: number;
}
export type Nullable<T> = { [K in keyof T]: T[K] | null };
/** The columns of identities `i` as JoinedIdentityDb names them. */
export const JOINED_IDENTITY = `i.identity_id AS i_id, i.pool_id AS i_pool_id, i.created_at AS i_created_at,
  i.last_modified_at AS i_last_modified_at, i.disabled AS i_disabled`;
/** An identity's columns as a joined statement names them (i_id is null when there is no such identity). */
export interface JoinedIdentityDb {
  i_id: string | null; i_pool_id: string; i_created_at: number; i_last_modified_at: number; i_disabled: boolean;
}
export interface DatasetViewDb extends Nullable<DatasetDb>, JoinedIdentityDb {
  merged: string[];
}
export interface DeviceDb { device_id: string; identity_id: string; platform: string; token: string; created_at: number }
/** writeState's one row: the dataset's columns (all null when it never existed) and the rest of the state. */
export type WriteStateDb = Nullable<DatasetDb> & JoinedIdentityDb & {
  live_count: number; consumed: boolean;
  rec_keys: Buffer[] | null; rec_counts: (string | number)[] | null; rec_bytes: (string | number)[] | null; rec_live: boolean[] | null;
};
export type PoolDoc = Omit<IdentityPool, 'identityPoolId' | 'identityPoolName' | 'createdAt'>;

export const map = <R, T>(r: R | undefined, to: (r: R) => T): T | undefined => (r === undefined ? undefined : to(r));
export const utf8 = (s: string) => Buffer.from(s, 'utf8');

export function poolDoc(pool: IdentityPool): string {
  const { identityPoolId: _id, identityPoolName: _name, createdAt: _created, ...doc } = pool;
  return JSON.stringify(doc satisfies PoolDoc);
}
export const toPool = (r: PoolDb): IdentityPool => ({
  identityPoolId: r.pool_id, identityPoolName: r.name, ...r.doc, createdAt: r.created_at,
});
export const toIdentity = (r: IdentityDb): Identity => ({
  identityId: r.identity_id, identityPoolId: r.pool_id, createdAt: r.created_at, lastModifiedAt: r.last_modified_at,
  disabled: r.disabled,
});
export const toDataset = (r: DatasetDb): DatasetRow => ({
  identityId: r.identity_id, datasetName: r.name, syncCount: r.sync_count, deleted: r.deleted,
  lastDeletedAtSyncCount: r.last_deleted_at_sync_count, createdAt: r.created_at, lastModifiedAt: r.last_modified_at,
  lastModifiedBy: r.last_modified_by, numRecords: r.num_records, dataStorage: r.data_storage,
  mergeParent: r.merge_parent,
});
export const toRecord = (r: RecordDb): RecordRow => ({
  key: r.key.toString('utf8'), value: r.value === null ? null : r.value.toString('utf8'), syncCount: r.sync_count,
  lastModifiedAt: r.last_modified_at, lastModifiedBy: r.last_modified_by, deviceLastModifiedAt: r.device_last_modified_at,
});
const joinedIdentity = (r: JoinedIdentityDb): Identity | undefined => (r.i_id === null ? undefined : {
  identityId: r.i_id, identityPoolId: r.i_pool_id, createdAt: r.i_created_at, lastModifiedAt: r.i_last_modified_at,
  disabled: r.i_disabled,
});
export const toDatasetView = (r: DatasetViewDb): DatasetView => ({
  identity: joinedIdentity(r),
  dataset: r.identity_id === null ? undefined : toDataset(r as DatasetDb),
  mergedDatasetNames: r.merged,
});
export const toDevice = (r: DeviceDb): Device => ({
  deviceId: r.device_id, identityId: r.identity_id, platform: r.platform, token: r.token, createdAt: r.created_at,
});

export function toWriteState(r: WriteStateDb): DatasetWriteState {
  const currentRecords = new Map<string, CurrentRecord>();
  (r.rec_keys ?? []).forEach((key, i) => {
    currentRecords.set(key.toString('utf8'), {
      syncCount: Number(r.rec_counts![i]), bytes: Number(r.rec_bytes![i]), live: r.rec_live![i]!,
    });
  });
  return {
    identity: joinedIdentity(r),
    dataset: r.identity_id === null ? undefined : toDataset(r as DatasetDb),
    currentRecords,
    liveDatasetCount: r.live_count,
    sessionConsumed: r.consumed,
  };
}

export const DEFAULT_SETTINGS: PoolSyncSettings = {
  events: {}, pushSync: null, cognitoStreams: null,
  bulkPublish: { status: 'NOT_STARTED', startedAt: null, completedAt: null, failureMessage: null },
};

/**
 * True when `text` holds U+0000, which a PostgreSQL text parameter cannot carry (22021). Identifiers the server
 * makes never hold one, so a lookup by such a value finds nothing rather than fail.
 */
export function hasNul(text: string): boolean {
  return text.includes('\u0000');
}
