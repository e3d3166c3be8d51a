import { defineSyncOperation } from '../../operation.js';
import { poolUsageShape } from '../usage-shape.js';
import { requirePool } from '../common.js';

interface DescribeIdentityPoolUsageInput {
  IdentityPoolId: string;
}

/** Bytes stored and sync sessions committed in one pool (developer credentials). */
export const describeIdentityPoolUsage = defineSyncOperation({
  name: 'DescribeIdentityPoolUsage',
  auth: 'developer',
  async handler(input: DescribeIdentityPoolUsageInput, ctx) {
    await requirePool(ctx, input.IdentityPoolId, 'notFound');
    const [usage] = await ctx.services.store.getPoolUsage([input.IdentityPoolId]);
    return { IdentityPoolUsage: poolUsageShape(usage ?? { identityPoolId: input.IdentityPoolId, dataStorage: 0, syncSessionsCount: 0, lastModifiedAt: null }) };
  },
});
