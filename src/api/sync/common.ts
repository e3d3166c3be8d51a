import { errors, poolNotFound, type ServiceError } from '../errors.js';
import type { RequestContext } from '../operation.js';
import { toEpochSeconds } from '../operation.js';
import type { DatasetRow, Identity, IdentityPool, PoolSyncSettings, RecordRow } from '../../storage/types.js';

/**
 * How an operation answers for a pool or identity that does not exist: ResourceNotFoundException where the
 * model lets it, else NotAuthorizedException (ListRecords and ListDatasets cannot answer 404; like AWS, a
 * resource that is not there is one the caller may not touch).
 */
export type Missing = 'notFound' | 'notAuthorized';

function missing(kind: Missing, message: string): ServiceError {
  return kind === 'notFound' ? errors.notFound(message) : errors.notAuthorized(message);
}

export async function requirePool(ctx: RequestContext, identityPoolId: string, kind: Missing): Promise<IdentityPool> {
  const pool = await ctx.services.store.getIdentityPool(identityPoolId);
  if (!pool) throw missing(kind, `IdentityPool '${identityPoolId}' not found.`);
  return pool;
}

/** The store's atomic settings update, for a pool deleted meanwhile the same 404 requirePool answers. */
export async function updatePoolSettings(
  ctx: RequestContext, identityPoolId: string, update: (current: PoolSyncSettings) => PoolSyncSettings,
): Promise<PoolSyncSettings> {
  const settings = await ctx.services.store.updatePoolSyncSettings(identityPoolId, update);
  if (!settings) throw poolNotFound(identityPoolId);
  return settings;
}

/** The identity, which must exist, be enabled and belong to the pool the path names. */
export async function requireIdentity(
  ctx: RequestContext, identityPoolId: string, identityId: string, kind: Missing,
): Promise<Identity> {
  const { principal } = ctx;
  // Identity credentials for this very identity: their resolver read and checked it earlier in this request.
  if (principal.kind === 'identity' && principal.identity && principal.identityId === identityId
    && principal.identityPoolId === identityPoolId) {
    return principal.identity;
  }
  return checkIdentity(ctx, await ctx.services.store.getIdentity(identityId), identityPoolId, identityId, kind);
}

/** Whether an identity row (undefined when absent) is one requireIdentity accepts for the pool. */
export function isUsableIdentity(identity: Identity | undefined, identityPoolId: string): identity is Identity {
  return identity !== undefined && identity.identityPoolId === identityPoolId && !identity.disabled;
}

/** requireIdentity for an identity already read (undefined when absent). */
export async function checkIdentity(
  ctx: RequestContext, identity: Identity | undefined, identityPoolId: string, identityId: string, kind: Missing,
): Promise<Identity> {
  if (!isUsableIdentity(identity, identityPoolId)) {
    if (!identity && !(await ctx.services.store.getIdentityPool(identityPoolId))) {
      throw missing(kind, `IdentityPool '${identityPoolId}' not found.`);
    }
    throw missing(kind, `Identity '${identityId}' not found.`);
  }
  return identity;
}

/** A live dataset or ResourceNotFoundException. */
export async function requireDataset(ctx: RequestContext, identityId: string, datasetName: string): Promise<DatasetRow> {
  const dataset = await ctx.services.store.getDataset(identityId, datasetName);
  if (!dataset || dataset.deleted) throw errors.notFound(`Dataset '${datasetName}' not found.`);
  return dataset;
}

/** The wire `Dataset` shape. DataStorage and NumRecords are always sent: Android unboxes them unguarded. */
export function datasetShape(row: DatasetRow) {
  return {
    IdentityId: row.identityId,
    DatasetName: row.datasetName,
    CreationDate: toEpochSeconds(row.createdAt),
    LastModifiedDate: toEpochSeconds(row.lastModifiedAt),
    LastModifiedBy: row.lastModifiedBy,
    DataStorage: row.dataStorage,
    NumRecords: row.numRecords,
  };
}

/** The wire `Record` shape; a tombstone has no Value. */
export function recordShape(row: RecordRow) {
  // Two literals rather than a conditional spread: every response serialises these.
  return row.value === null
    ? {
      Key: row.key,
      SyncCount: row.syncCount,
      LastModifiedDate: toEpochSeconds(row.lastModifiedAt),
      LastModifiedBy: row.lastModifiedBy,
      DeviceLastModifiedDate: toEpochSeconds(row.deviceLastModifiedAt),
    }
    : {
      Key: row.key,
      Value: row.value,
      SyncCount: row.syncCount,
      LastModifiedDate: toEpochSeconds(row.lastModifiedAt),
      LastModifiedBy: row.lastModifiedBy,
      DeviceLastModifiedDate: toEpochSeconds(row.deviceLastModifiedAt),
    };
}
