import { defineIdentityOperation } from '../../operation.js';
import { identityDescription, requireIdentity } from '../common.js';

interface DescribeIdentityInput {
  IdentityId: string;
}

/** When an identity was created and last modified, and its linked logins; disabled identities are described too. */
export const describeIdentity = defineIdentityOperation({
  name: 'DescribeIdentity',
  auth: 'developer',
  async handler(input: DescribeIdentityInput, ctx) {
    return identityDescription(ctx, await requireIdentity(ctx, input.IdentityId));
  },
});
