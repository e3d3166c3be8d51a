import { defineIdentityOperation } from '../../operation.js';
import { changePool } from '../common.js';
import { requirePoolByArn } from '../tags.js';

interface UntagResourceInput {
  /** `arn:aws:cognito-identity:<region>:<account>:identitypool/<IdentityPoolId>` of a pool of this server. */
  ResourceArn: string;
  TagKeys: string[];
}

/**
 * Developer credentials only: removes the tags with the given keys from an identity pool; keys it does not have
 * are ignored. ARN and pool errors as for TagResource.
 */
export const untagResource = defineIdentityOperation({
  name: 'UntagResource',
  auth: 'developer',
  async handler(input: UntagResourceInput, ctx) {
    const pool = await requirePoolByArn(ctx, input.ResourceArn);
    const remove = new Set(input.TagKeys);
    await changePool(ctx, pool.identityPoolId, (current) => (
      { ...current, tags: Object.fromEntries(Object.entries(current.tags).filter(([key]) => !remove.has(key))) }));
    return {};
  },
});
