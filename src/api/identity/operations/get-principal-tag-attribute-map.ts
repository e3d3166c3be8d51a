import { defineIdentityOperation } from '../../operation.js';
import { requirePool } from '../common.js';
import { principalTagMapOf, principalTagMapWire, requirePoolProvider } from '../principal-tags.js';

interface GetPrincipalTagAttributeMapInput {
  IdentityPoolId: string;
  IdentityProviderName: string;
}

/**
 * Developer credentials only: the principal tag attribute map of one of the pool's identity providers, as
 * `{ IdentityPoolId, IdentityProviderName, UseDefaults, PrincipalTags }`. A provider that never had one set answers
 * `UseDefaults: false` and no tags. Unknown pool ⇒ ResourceNotFoundException; a provider the pool does not use ⇒
 * InvalidParameterException.
 */
export const getPrincipalTagAttributeMap = defineIdentityOperation({
  name: 'GetPrincipalTagAttributeMap',
  auth: 'developer',
  async handler(input: GetPrincipalTagAttributeMapInput, ctx) {
    const pool = await requirePool(ctx, input.IdentityPoolId);
    requirePoolProvider(pool, input.IdentityProviderName);
    return principalTagMapWire(pool, input.IdentityProviderName, principalTagMapOf(pool, input.IdentityProviderName));
  },
});
