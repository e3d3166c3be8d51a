import { errors } from '../errors.js';
import type { IdentityPool, PrincipalTagMap } from '../../storage/types.js';
import { providerNames } from './pool-shape.js';

/**
 * Principal tag attribute maps (Get/SetPrincipalTagAttributeMap): kept per (pool, provider name) in the pool row.
 * Cosync has no IAM, so the maps are stored and answered only; no session tags are derived from them.
 */

/** What a provider without a stored map answers: no default mapping, no tags. */
const NO_MAP: PrincipalTagMap = { useDefaults: false, principalTags: {} };

/** The wire answer of both operations. */
export interface PrincipalTagMapWire {
  IdentityPoolId: string;
  IdentityProviderName: string;
  UseDefaults: boolean;
  PrincipalTags: Record<string, string>;
}

/** InvalidParameterException unless `providerName` is one of the pool's identity providers. */
export function requirePoolProvider(pool: IdentityPool, providerName: string): void {
  if (!providerNames(pool).has(providerName)) {
    throw errors.invalidParameter(
      `IdentityProviderName '${providerName}' is not an identity provider of identity pool '${pool.identityPoolId}' ` +
        '(expected a SupportedLoginProviders key, an OpenID Connect provider, a Cognito user pool provider name ' +
        'or a SAML provider ARN of the pool).',
    );
  }
}

/** The stored map of a provider, or the empty one. */
export function principalTagMapOf(pool: IdentityPool, providerName: string): PrincipalTagMap {
  return Object.hasOwn(pool.principalTagMaps, providerName) ? pool.principalTagMaps[providerName] ?? NO_MAP : NO_MAP;
}

export function principalTagMapWire(pool: IdentityPool, providerName: string, map: PrincipalTagMap): PrincipalTagMapWire {
  return {
    IdentityPoolId: pool.identityPoolId,
    IdentityProviderName: providerName,
    UseDefaults: map.useDefaults,
    PrincipalTags: { ...map.principalTags },
  };
}
