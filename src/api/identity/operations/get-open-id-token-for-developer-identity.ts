import { defineIdentityOperation } from '../../operation.js';
import { errors, identityNotFound } from '../../errors.js';
import { issueOpenIdToken } from '../../../auth/openid-tokens.js';
import { requirePool } from '../common.js';
import {
  DEVELOPER_USER_ALREADY_REGISTERED, loginProviders, resolveIdentity, resolvingLoginRaces, verifyLogins,
} from '../logins.js';

/** Default lifetime of a developer-identity token (AWS: 15 minutes; 1 s to 24 h). */
export const DEFAULT_DEVELOPER_TOKEN_SECONDS = 900;
const MAX_DEVELOPER_USER_IDENTIFIER = 1024;

interface GetOpenIdTokenForDeveloperIdentityInput {
  IdentityPoolId: string;
  IdentityId?: string;
  /** Must contain the pool's developer provider name → the developer's user identifier; other logins are tokens. */
  Logins: Record<string, string>;
  PrincipalTags?: Record<string, string>;
  TokenDuration?: number;
}

/**
 * Developer credentials only: registers or looks up the identity of a user of the developer's own login system and
 * answers an OpenID token for it, which the app then presents as the `cognito-identity.amazonaws.com` login.
 * A user identifier already linked to another identity than the IdentityId given answers
 * DeveloperUserAlreadyRegisteredException.
 */
export const getOpenIdTokenForDeveloperIdentity = defineIdentityOperation({
  name: 'GetOpenIdTokenForDeveloperIdentity',
  auth: 'developer',
  async handler(input: GetOpenIdTokenForDeveloperIdentityInput, ctx) {
    const { store, clock, keys, urls } = ctx.services;
    const pool = await requirePool(ctx, input.IdentityPoolId);
    const provider = pool.developerProviderName;
    const userId = provider === null ? undefined : input.Logins[provider];
    if (provider === null || userId === undefined) {
      throw errors.invalidParameter(provider === null
        ? `Identity pool ${pool.identityPoolId} has no DeveloperProviderName; set one with UpdateIdentityPool`
        : `Logins must contain the pool's developer provider ${provider}`);
    }
    // The model's DeveloperUserIdentifier (1–1,024 characters), which Lookup, Unlink and Merge take: a longer one,
    // allowed by the Logins map's 50,000, could be registered but never named again.
    if (userId.length > MAX_DEVELOPER_USER_IDENTIFIER) {
      throw errors.invalidParameter(`1 validation error detected: Value at 'logins' failed to satisfy constraint: ` +
        `the developer user identifier of ${provider} must have length less than or equal to ${MAX_DEVELOPER_USER_IDENTIFIER}`);
    }
    // PostgreSQL's text cannot store U+0000: refused on every engine, as the identifier could not be named again.
    if (userId.includes('\u0000')) {
      throw errors.invalidParameter(`1 validation error detected: Value at 'logins' failed to satisfy constraint: ` +
        `the developer user identifier of ${provider} must not contain U+0000`);
    }
    const others = Object.fromEntries(Object.entries(input.Logins).filter(([name]) => name !== provider));
    const identity = await resolvingLoginRaces(async () => {
      const owner = await store.findLogin(pool.identityPoolId, provider, userId);
      let claimed;
      if (input.IdentityId !== undefined) {
        claimed = await store.getIdentity(input.IdentityId);
        if (!claimed || claimed.identityPoolId !== pool.identityPoolId) throw identityNotFound(input.IdentityId);
        if (owner && owner.identityId !== input.IdentityId) {
          throw errors.developerUserAlreadyRegistered(DEVELOPER_USER_ALREADY_REGISTERED);
        }
      }
      const verified = await verifyLogins(ctx, pool, others);
      return resolveIdentity(ctx, pool, claimed, {
        logins: [{ providerName: provider, subject: userId }, ...verified.logins],
        tokenIdentityId: verified.tokenIdentityId,
      }, { developerVouches: true });
    });
    const providers = await loginProviders(ctx, identity.identityId);
    const token = await issueOpenIdToken(keys, {
      identityId: identity.identityId, identityPoolId: pool.identityPoolId, amr: ['authenticated', ...providers],
    }, {
      issuer: urls.issuer, now: clock.now(), ttlSeconds: input.TokenDuration ?? DEFAULT_DEVELOPER_TOKEN_SECONDS,
      ...(input.PrincipalTags ? { extra: { 'https://aws.amazon.com/tags': { principal_tags: input.PrincipalTags } } } : {}),
    });
    return { IdentityId: identity.identityId, Token: token };
  },
});
