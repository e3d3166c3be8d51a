import { toEpochSeconds } from '../operation.js';
import type { PoolUsage } from '../../storage/types.js';

/**
 * The wire `IdentityPoolUsage`. SyncSessionsCount sums the sync counts of the pool's datasets (deleted ones included):
 * the committed sync sessions that wrote something, by the identities still in the pool. AWS documented no meaning
 * and its examples show null (docs/decisions.md, "Quotas and usage").
 */
export function poolUsageShape(usage: PoolUsage) {
  return {
    IdentityPoolId: usage.identityPoolId,
    SyncSessionsCount: usage.syncSessionsCount,
    DataStorage: usage.dataStorage,
    ...(usage.lastModifiedAt === null ? {} : { LastModifiedDate: toEpochSeconds(usage.lastModifiedAt) }),
  };
}
