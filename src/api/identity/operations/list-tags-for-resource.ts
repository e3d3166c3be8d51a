import { defineIdentityOperation } from '../../operation.js';
import { requirePoolByArn } from '../tags.js';

interface ListTagsForResourceInput {
  /** `arn:aws:cognito-identity:<region>:<account>:identitypool/<IdentityPoolId>` of a pool of this server. */
  ResourceArn: string;
}

/**
 * Developer credentials only: the identity pool's tags as `{ Tags }` (an empty map when it has none). ARN and pool
 * errors as for TagResource.
 */
export const listTagsForResource = defineIdentityOperation({
  name: 'ListTagsForResource',
  auth: 'developer',
  async handler(input: ListTagsForResourceInput, ctx) {
    const pool = await requirePoolByArn(ctx, input.ResourceArn);
    return { Tags: { ...pool.tags } };
  },
});
