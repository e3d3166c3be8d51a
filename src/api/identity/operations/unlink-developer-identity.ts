import { defineIdentityOperation } from '../../operation.js';
import { errors } from '../../errors.js';
import { requireDeveloperPool } from '../common.js';

interface UnlinkDeveloperIdentityInput {
  IdentityId: string;
  IdentityPoolId: string;
  DeveloperProviderName: string;
  DeveloperUserIdentifier: string;
}

/**
 * Developer credentials only: unlinks a developer user from an identity. The identity and its data stay; the
 * user gets a new identity the next time it is presented. A link that does not exist answers 404.
 */
export const unlinkDeveloperIdentity = defineIdentityOperation({
  name: 'UnlinkDeveloperIdentity',
  auth: 'developer',
  async handler(input: UnlinkDeveloperIdentityInput, ctx) {
    await requireDeveloperPool(ctx, input.IdentityPoolId, input.DeveloperProviderName);
    const removed = await ctx.services.store.unlinkLogin(input.IdentityId, input.DeveloperProviderName, input.DeveloperUserIdentifier);
    if (!removed) {
      throw errors.notFound(`Developer user '${input.DeveloperUserIdentifier}' is not linked to identity '${input.IdentityId}'.`);
    }
    return {};
  },
});
