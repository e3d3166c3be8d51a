import { defineIdentityOperation, toEpochSeconds } from '../../operation.js';
import { errors } from '../../errors.js';
import { issueIdentityCredentials } from '../../../auth/identity-credentials.js';
import { loginProviders, resolveNamedIdentity } from '../logins.js';
import { UNAUTHENTICATED_NOT_ALLOWED } from './get-id.js';

interface GetCredentialsForIdentityInput {
  IdentityId: string;
  Logins?: Record<string, string>;
  /** Accepted and ignored: Cosync has no IAM; credentials reach only the identity's own data (SECURITY.md). */
  CustomRoleArn?: string;
}

/**
 * Public (unsigned): temporary credentials for an identity — AccessKeyId, SecretKey, SessionToken and Expiration
 * (`--credentials-ttl`, one hour by default). Logins are verified, linked or merged first (see logins.ts), so the
 * answer's IdentityId may differ from the one asked for; clients switch to it. Guests need a pool that allows them.
 */
export const getCredentialsForIdentity = defineIdentityOperation({
  name: 'GetCredentialsForIdentity',
  auth: 'public',
  async handler(input: GetCredentialsForIdentityInput, ctx) {
    const { clock, config, keys, ids } = ctx.services;
    const { pool, identity } = await resolveNamedIdentity(ctx, input.IdentityId, input.Logins);
    const authenticated = (await loginProviders(ctx, identity.identityId)).length > 0;
    if (!authenticated && !pool.allowUnauthenticatedIdentities) throw errors.notAuthorized(UNAUTHENTICATED_NOT_ALLOWED);
    const credentials = issueIdentityCredentials(keys, {
      identityId: identity.identityId,
      identityPoolId: pool.identityPoolId,
      expiresAt: clock.now() + config.credentialsTtlSeconds * 1000,
      authenticated,
    }, Buffer.from(ids.random(16), 'base64url'));
    return {
      IdentityId: identity.identityId,
      Credentials: {
        AccessKeyId: credentials.accessKeyId,
        SecretKey: credentials.secretKey,
        SessionToken: credentials.sessionToken,
        Expiration: toEpochSeconds(credentials.expiration),
      },
    };
  },
});
