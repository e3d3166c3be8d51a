import { defineIdentityOperation } from '../../operation.js';
import { errors, identityNotFound } from '../../errors.js';
import { requireIdentity, requirePool } from '../common.js';
import { LOGINS_DONT_MATCH, verifyLogins } from '../logins.js';

interface UnlinkIdentityInput {
  IdentityId: string;
  /** Valid tokens of the identity's logins, proving the caller owns it. */
  Logins: Record<string, string>;
  /** Provider names whose logins to unlink. */
  LoginsToRemove: string[];
}

/**
 * Public (unsigned): unlinks logins from an identity whose owner proves it with current tokens of its logins.
 * An unlinked login gets a new identity the next time it is presented. As at AWS, an identity left without any
 * login becomes inaccessible: it is disabled, its data kept (in the same atomic unit as the unlinking, so a link
 * landing meanwhile is either removed or keeps the identity enabled). Providers the identity has no login for are
 * ignored.
 */
export const unlinkIdentity = defineIdentityOperation({
  name: 'UnlinkIdentity',
  auth: 'public',
  async handler(input: UnlinkIdentityInput, ctx) {
    const { store, clock } = ctx.services;
    const identity = await requireIdentity(ctx, input.IdentityId);
    const pool = await requirePool(ctx, identity.identityPoolId);
    if (identity.disabled) throw errors.notAuthorized(`Identity '${identity.identityId}' is disabled.`);
    const verified = await verifyLogins(ctx, pool, input.Logins);
    const linked = await store.listLogins(identity.identityId);
    const proven = verified.logins.some((v) => linked.some((l) => l.providerName === v.providerName && l.subject === v.subject)) ||
      verified.tokenIdentityId === identity.identityId;
    if (!proven) throw errors.notAuthorized(LOGINS_DONT_MATCH);
    const removing = linked.filter((login) => input.LoginsToRemove.includes(login.providerName));
    // Deleted meanwhile (DeleteIdentities): as for an identity that is not there.
    if ((await store.unlinkLogins(identity.identityId, removing, clock.now())) === undefined) {
      throw identityNotFound(identity.identityId);
    }
    return {};
  },
});
