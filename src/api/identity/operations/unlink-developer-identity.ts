import { defineIdentityOperation } from '../../operation.js';
import { errors, identityNotFound } from '../../errors.js';
import { requireDeveloperPool } from '../common.js';

interface UnlinkDeveloperIdentityInput {
  IdentityId: string;
  IdentityPoolId: string;
  DeveloperProviderName: string;
  DeveloperUserIdentifier: string;
}

/**
 * Developer credentials only: unlinks a developer user from an identity; the user gets a new identity the next time
 * it is presented. A link that does not exist answers 404. As at AWS (the model: "the Cognito identity becomes
 * inaccessible") and as UnlinkIdentity does, an identity left without any login is disabled, its data kept: left
 * enabled, anyone knowing its ID could take it up as a guest in a pool that allows guests.
 */
export const unlinkDeveloperIdentity = defineIdentityOperation({
  name: 'UnlinkDeveloperIdentity',
  auth: 'developer',
  async handler(input: UnlinkDeveloperIdentityInput, ctx) {
    await requireDeveloperPool(ctx, input.IdentityPoolId, input.DeveloperProviderName);
    const { store, clock } = ctx.services;
    const { IdentityId, DeveloperProviderName, DeveloperUserIdentifier } = input;
    // Another pool's identity is not this pool's to change, even under the same developer provider name.
    const owner = await store.getIdentity(IdentityId);
    if (!owner || owner.identityPoolId !== input.IdentityPoolId) throw identityNotFound(IdentityId);
    const login = { providerName: DeveloperProviderName, subject: DeveloperUserIdentifier };
    const removed = await store.unlinkLogins(IdentityId, [login], clock.now());
    if (removed === undefined) throw identityNotFound(IdentityId);
    if (removed === 0) {
      throw errors.notFound(`Developer user '${DeveloperUserIdentifier}' is not linked to identity '${IdentityId}'.`);
    }
    return {};
  },
});
