import { toEpochSeconds } from '../operation.js';
import type { PoolUsage } from '../../storage/types.js';

/**
 * The wire `IdentityPoolUsage`. SyncSessionsCount counts committed sync sessions that wrote something
 * (successful UpdateRecords with patches) over the pool's lifetime; AWS documented no meaning and its examples show null (docs/decisions.md).
 */
export function poolUsageShape(usage: PoolUsage) {
  return {
    IdentityPoolId: usage.identityPoolId,
    SyncSessionsCount: usage.syncSessionsCount,
    DataStorage: usage.dataStorage,
    ...(usage.lastModifiedAt === null ? {} : { LastModifiedDate: toEpochSeconds(usage.lastModifiedAt) }),
  };
}
