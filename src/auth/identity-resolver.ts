import { errors } from '../api/errors.js';
import type { Services } from '../api/operation.js';
import { openSessionToken } from './identity-credentials.js';
import type { CredentialResolver } from './sigv4.js';

/**
 * Resolves temporary identity credentials (issued by GetCredentialsForIdentity) from the access key and the
 * X-Amz-Security-Token sent with each request: the token must have been issued by a listed server key for that
 * access key, be unexpired (else ExpiredTokenException), and name an identity that still exists, is enabled and
 * belongs to the pool it was issued in (deleted, disabled or merged-away identities lose access at once).
 * Anything else is not ours (undefined: the next resolver, or UnrecognizedClientException).
 */
export function identityCredentialsResolver(services: Services): CredentialResolver {
  const open = openedTokens(services);
  return async (accessKeyId, sessionToken) => {
    if (sessionToken === undefined) return undefined;
    const opened = open(accessKeyId, sessionToken);
    if (!opened) return undefined;
    const { claims, secretKey } = opened;
    if (claims.expiresAt <= services.clock.now()) throw errors.expiredToken('The security token included in the request is expired');
    const identity = await services.store.getIdentity(claims.identityId);
    if (!identity || identity.disabled || identity.identityPoolId !== claims.identityPoolId) return undefined;
    return {
      secretAccessKey: secretKey,
      principal: {
        kind: 'identity',
        accessKeyId,
        identityId: claims.identityId,
        identityPoolId: claims.identityPoolId,
        accountId: services.accountId,
        identity,
      },
    };
  };
}

type Opened = NonNullable<ReturnType<typeof openSessionToken>>;
const MAX_OPENED_TOKENS = 10_000;

/**
 * openSessionToken, remembered. Opening a token (two HMACs and a JSON parse) gives the same claims and secret every
 * time under the same server keys, and a client sends the same token with every request until it expires: each is
 * opened once. Only what the token itself says is remembered; expiry and the identity are checked on every request.
 */
function openedTokens(services: Services): (accessKeyId: string, sessionToken: string) => Opened | undefined {
  const opened = new Map<string, Opened & { readonly accessKeyId: string }>();
  let keys = services.keys;
  return (accessKeyId, sessionToken) => {
    if (services.keys !== keys) {
      opened.clear();
      keys = services.keys;
    }
    const known = opened.get(sessionToken);
    if (known !== undefined && known.accessKeyId === accessKeyId) return known;
    const fresh = openSessionToken(keys, accessKeyId, sessionToken);
    if (fresh) {
      if (opened.size >= MAX_OPENED_TOKENS) opened.clear();
      opened.set(sessionToken, { ...fresh, accessKeyId });
    }
    return fresh;
  };
}
