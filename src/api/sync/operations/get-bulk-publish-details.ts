import { defineSyncOperation, toEpochSeconds } from '../../operation.js';
import { requirePool } from '../common.js';

/** Status of the pool's last bulk publish: NOT_STARTED, IN_PROGRESS, FAILED (with message) or SUCCEEDED. */
export const getBulkPublishDetails = defineSyncOperation({
  name: 'GetBulkPublishDetails',
  auth: 'developer',
  async handler(input: { IdentityPoolId: string }, ctx) {
    await requirePool(ctx, input.IdentityPoolId, 'notFound');
    const { bulkPublish } = await ctx.services.store.getPoolSyncSettings(input.IdentityPoolId);
    return {
      IdentityPoolId: input.IdentityPoolId,
      ...(bulkPublish.startedAt === null ? {} : { BulkPublishStartTime: toEpochSeconds(bulkPublish.startedAt) }),
      ...(bulkPublish.status === 'SUCCEEDED' && bulkPublish.completedAt !== null
        ? { BulkPublishCompleteTime: toEpochSeconds(bulkPublish.completedAt) } : {}),
      BulkPublishStatus: bulkPublish.status,
      ...(bulkPublish.status === 'FAILED' && bulkPublish.failureMessage ? { FailureMessage: bulkPublish.failureMessage } : {}),
    };
  },
});
