import { defineIdentityOperation } from '../../operation.js';
import { poolNotFound } from '../../errors.js';

interface DeleteIdentityPoolInput {
  IdentityPoolId: string;
}

/**
 * Deletes the pool with everything in it: identities, datasets, records, devices and Cognito Sync settings (the
 * store marks the pool gone at once, then deletes its data in small steps while other requests run; the answer
 * comes once nothing is left). Answers an empty object, as AWS's model has no output for it.
 */
export const deleteIdentityPool = defineIdentityOperation({
  name: 'DeleteIdentityPool',
  auth: 'developer',
  async handler(input: DeleteIdentityPoolInput, ctx) {
    if (!(await ctx.services.store.deleteIdentityPool(input.IdentityPoolId))) {
      throw poolNotFound(input.IdentityPoolId);
    }
    return {};
  },
});
