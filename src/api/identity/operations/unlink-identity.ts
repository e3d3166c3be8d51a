import { defineIdentityOperation } from '../../operation.js';
import { errors } from '../../errors.js';
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
 * login becomes inaccessible: it is disabled, its data kept.
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
    for (const login of linked) {
      if (input.LoginsToRemove.includes(login.providerName)) await store.unlinkLogin(identity.identityId, login.providerName, login.subject);
    }
    const remaining = await store.listLogins(identity.identityId);
    await store.updateIdentity({ ...identity, lastModifiedAt: clock.now(), disabled: remaining.length === 0 });
    return {};
  },
});
