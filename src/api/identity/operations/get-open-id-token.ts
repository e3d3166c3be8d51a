import { defineIdentityOperation } from '../../operation.js';
import { errors } from '../../errors.js';
import { issueOpenIdToken } from '../../../auth/openid-tokens.js';
import { loginProviders, resolveNamedIdentity } from '../logins.js';
import { UNAUTHENTICATED_NOT_ALLOWED } from './get-id.js';

/** Cognito Identity's OpenID tokens from GetOpenIdToken are valid for 10 minutes. */
export const OPEN_ID_TOKEN_TTL_SECONDS = 600;

interface GetOpenIdTokenInput {
  IdentityId: string;
  Logins?: Record<string, string>;
}

/**
 * Public (unsigned): an OpenID Connect token (JWT, ES256) for the identity, verifiable by anyone with the keys
 * published at /.well-known/jwks.json. Logins are verified, linked or merged first, as for credentials.
 */
export const getOpenIdToken = defineIdentityOperation({
  name: 'GetOpenIdToken',
  auth: 'public',
  async handler(input: GetOpenIdTokenInput, ctx) {
    const { clock, keys, urls } = ctx.services;
    const { pool, identity } = await resolveNamedIdentity(ctx, input.IdentityId, input.Logins);
    const providers = await loginProviders(ctx, identity.identityId);
    if (providers.length === 0 && !pool.allowUnauthenticatedIdentities) throw errors.notAuthorized(UNAUTHENTICATED_NOT_ALLOWED);
    const token = await issueOpenIdToken(keys, {
      identityId: identity.identityId,
      identityPoolId: pool.identityPoolId,
      amr: providers.length > 0 ? ['authenticated', ...providers] : ['unauthenticated'],
    }, { issuer: urls.issuer, now: clock.now(), ttlSeconds: OPEN_ID_TOKEN_TTL_SECONDS });
    return { IdentityId: identity.identityId, Token: token };
  },
});
