import { defineIdentityOperation } from '../../operation.js';
import { poolNotFound } from '../../errors.js';

interface DeleteIdentityPoolInput {
  IdentityPoolId: string;
}

/**
 * Deletes the pool with everything in it: identities, datasets, records, devices and Cognito Sync settings (the
 * store cascades in one unit). Answers an empty object, as AWS's model has no output for it.
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
