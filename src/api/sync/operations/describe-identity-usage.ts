import { defineSyncOperation, toEpochSeconds } from '../../operation.js';
import { requireIdentity } from '../common.js';

interface DescribeIdentityUsageInput {
  IdentityPoolId: string;
  IdentityId: string;
}

/** Datasets and bytes stored for one identity; LastModifiedDate is its last write (absent before any). */
export const describeIdentityUsage = defineSyncOperation({
  name: 'DescribeIdentityUsage',
  auth: 'either',
  async handler(input: DescribeIdentityUsageInput, ctx) {
    await requireIdentity(ctx, input.IdentityPoolId, input.IdentityId, 'notFound');
    const usage = await ctx.services.store.getIdentityUsage(input.IdentityId);
    return {
      IdentityUsage: {
        IdentityId: input.IdentityId,
        IdentityPoolId: input.IdentityPoolId,
        ...(usage.lastModifiedAt === null ? {} : { LastModifiedDate: toEpochSeconds(usage.lastModifiedAt) }),
        DatasetCount: usage.datasetCount,
        DataStorage: usage.dataStorage,
      },
    };
  },
});
