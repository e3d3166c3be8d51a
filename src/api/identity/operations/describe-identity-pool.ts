import { defineIdentityOperation } from '../../operation.js';
import { requirePool } from '../common.js';
import { poolDescription } from '../pool-shape.js';

interface DescribeIdentityPoolInput {
  IdentityPoolId: string;
}

/** The pool's full description; ResourceNotFoundException for an unknown pool. */
export const describeIdentityPool = defineIdentityOperation({
  name: 'DescribeIdentityPool',
  auth: 'developer',
  async handler(input: DescribeIdentityPoolInput, ctx) {
    return poolDescription(await requirePool(ctx, input.IdentityPoolId));
  },
});
