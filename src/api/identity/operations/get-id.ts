import { defineIdentityOperation } from '../../operation.js';
import { errors } from '../../errors.js';
import { newRegionalId, requirePool } from '../common.js';
import type { Identity } from '../../../storage/types.js';

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
 * - With Logins: login providers are not implemented yet, so every login is refused with NotAuthorizedException
 *   and never trusted (no identity is created or returned for it).
 */
export const getId = defineIdentityOperation({
  name: 'GetId',
  auth: 'public',
  async handler(input: GetIdInput, ctx) {
    if (input.AccountId !== undefined && input.AccountId !== ctx.services.accountId) {
      throw errors.notAuthorized(`Account '${input.AccountId}' does not own identity pool '${input.IdentityPoolId}'.`);
    }
    const pool = await requirePool(ctx, input.IdentityPoolId);
    const providers = Object.keys(input.Logins ?? {});
    if (providers.length > 0) {
      const list = providers.sort().join(', ');
      throw errors.notAuthorized(
        `Invalid login token. Logins are not supported yet for provider${providers.length > 1 ? 's' : ''} ${list}.`,
      );
    }
    if (!pool.allowUnauthenticatedIdentities) throw errors.notAuthorized(UNAUTHENTICATED_NOT_ALLOWED);
    const now = ctx.services.clock.now();
    const identity: Identity = {
      identityId: newRegionalId(ctx),
      identityPoolId: pool.identityPoolId,
      createdAt: now,
      lastModifiedAt: now,
      disabled: false,
    };
    await ctx.services.store.createIdentity(identity);
    return { IdentityId: identity.identityId };
  },
});
