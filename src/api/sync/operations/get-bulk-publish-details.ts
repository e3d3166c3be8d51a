import { defineSyncOperation, toEpochSeconds } from '../../operation.js';
import { bulkPublishAt } from '../../../domain/bulk-publish.js';
import { requirePool } from '../common.js';

/**
 * Status of the pool's last bulk publish: NOT_STARTED, IN_PROGRESS, FAILED (with message) or SUCCEEDED. A run whose
 * server stopped before it finished shows as FAILED (src/domain/bulk-publish.ts).
 */
export const getBulkPublishDetails = defineSyncOperation({
  name: 'GetBulkPublishDetails',
  auth: 'developer',
  async handler(input: { IdentityPoolId: string }, ctx) {
    await requirePool(ctx, input.IdentityPoolId, 'notFound');
    const settings = await ctx.services.store.getPoolSyncSettings(input.IdentityPoolId);
    const bulkPublish = bulkPublishAt(settings.bulkPublish, ctx.services.clock.now());
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
