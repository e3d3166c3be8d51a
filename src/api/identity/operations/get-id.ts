import { defineIdentityOperation } from '../../operation.js';
import { errors } from '../../errors.js';
import { requirePool } from '../common.js';
import { createIdentity, resolveIdentity, resolvingLoginRaces, verifyLogins } from '../logins.js';

interface GetIdInput {
  AccountId?: string;
  IdentityPoolId: string;
  /** Provider name → token. */
  Logins?: Record<string, string>;
}

/** AWS's message when a pool does not allow guests. */
export const UNAUTHENTICATED_NOT_ALLOWED = 'Unauthenticated access is not supported for this identity pool.';

/**
 * Public (unsigned) operation: issues an identity ID in a pool.
 * - AccountId, when given, must be the account that owns the pools on this server, else NotAuthorizedException
 *   (checked before the pool lookup, so another account cannot probe which pools exist).
 * - Without Logins (or with an empty map, which clients send for "no logins"): creates a new unauthenticated
 *   identity if the pool allows them, else NotAuthorizedException with AWS's message.
 * - With Logins: every login is verified (unverifiable ones refuse the request); the identity that owns them is
 *   answered, a new one is created for logins nobody owns, and logins owned by different identities merge them
 *   (src/api/identity/logins.ts).
 */
export const getId = defineIdentityOperation({
  name: 'GetId',
  auth: 'public',
  async handler(input: GetIdInput, ctx) {
    if (input.AccountId !== undefined && input.AccountId !== ctx.services.accountId) {
      throw errors.notAuthorized(`Account '${input.AccountId}' does not own identity pool '${input.IdentityPoolId}'.`);
    }
    const pool = await requirePool(ctx, input.IdentityPoolId);
    if (Object.keys(input.Logins ?? {}).length > 0) {
      const verified = await verifyLogins(ctx, pool, input.Logins);
      const identity = await resolvingLoginRaces(() => resolveIdentity(ctx, pool, undefined, verified));
      return { IdentityId: identity.identityId };
    }
    if (!pool.allowUnauthenticatedIdentities) throw errors.notAuthorized(UNAUTHENTICATED_NOT_ALLOWED);
    const identity = await createIdentity(ctx, pool);
    return { IdentityId: identity.identityId };
  },
});
