import { defineIdentityOperation } from '../../operation.js';
import { changePool } from '../common.js';
import { checkTagCount, requirePoolByArn } from '../tags.js';

interface TagResourceInput {
  /** `arn:aws:cognito-identity:<region>:<account>:identitypool/<IdentityPoolId>` of a pool of this server. */
  ResourceArn: string;
  Tags: Record<string, string>;
}

/**
 * Developer credentials only: adds tags to an identity pool, replacing the value of a key it already has; the
 * others are kept. These are the pool's IdentityPoolTags (DescribeIdentityPool shows them). A pool holds at most
 * 50 tags: a request that would leave more is InvalidParameterException and changes nothing. An ARN that is not
 * an identity pool of this server's region is InvalidParameterException; an unknown pool ResourceNotFoundException.
 */
export const tagResource = defineIdentityOperation({
  name: 'TagResource',
  auth: 'developer',
  async handler(input: TagResourceInput, ctx) {
    const pool = await requirePoolByArn(ctx, input.ResourceArn);
    await changePool(ctx, pool.identityPoolId, (current) => {
      const tags = { ...current.tags, ...input.Tags };
      checkTagCount(tags);
      return { ...current, tags };
    });
    return {};
  },
});
