import { defineSyncOperation } from '../../operation.js';
import { startBulkPublish } from '../../../domain/bulk-publish.js';
import { requirePool, updatePoolSettings } from '../common.js';

/**
 * Starts publishing all of the pool's data to its Cognito stream, asynchronously (developer credentials).
 * Needs streaming configured and ENABLED; one run at a time (DuplicateRequestException) and one success per
 * 24 hours (AlreadyStreamedException); the rules are in src/domain/bulk-publish.ts. Progress shows in
 * GetBulkPublishDetails. The publishing itself is done by the `bulkPublish` hooks (src/hooks/bulk-publish-runs.ts);
 * with none registered the run succeeds at once.
 */
export const bulkPublish = defineSyncOperation({
  name: 'BulkPublish',
  auth: 'developer',
  async handler(input: { IdentityPoolId: string }, ctx) {
    const { clock, bulkPublishRuns } = ctx.services;
    await requirePool(ctx, input.IdentityPoolId, 'notFound');
    const now = clock.now();
    await updatePoolSettings(ctx, input.IdentityPoolId, (current) =>
      startBulkPublish(input.IdentityPoolId, current, now, bulkPublishRuns.leaseMs));
    bulkPublishRuns.start(input.IdentityPoolId, now, ctx.requestId);
    return { IdentityPoolId: input.IdentityPoolId };
  },
});
