import { defineIdentityOperation } from '../../operation.js';
import { changePool } from '../common.js';
import { principalTagMapWire, requirePoolProvider } from '../principal-tags.js';
import type { PrincipalTagMap } from '../../../storage/types.js';

interface SetPrincipalTagAttributeMapInput {
  IdentityPoolId: string;
  IdentityProviderName: string;
  /** Use the default mapping (username and client ID); absent means false. */
  UseDefaults?: boolean;
  /** Tag key → token claim name, at most 50 (checked against the model before the handler runs). */
  PrincipalTags?: Record<string, string>;
}

/**
 * Developer credentials only: replaces the principal tag attribute map of one of the pool's identity providers
 * (absent members reset to false / no tags) and answers it as GetPrincipalTagAttributeMap then does. Setting
 * `UseDefaults: false` with no tags clears the map. Stored only: Cosync has no IAM, so no session tags are derived
 * from it. Unknown pool ⇒ ResourceNotFoundException; a provider the pool does not use ⇒ InvalidParameterException.
 */
export const setPrincipalTagAttributeMap = defineIdentityOperation({
  name: 'SetPrincipalTagAttributeMap',
  auth: 'developer',
  async handler(input: SetPrincipalTagAttributeMapInput, ctx) {
    const providerName = input.IdentityProviderName;
    const map: PrincipalTagMap = { useDefaults: input.UseDefaults ?? false, principalTags: { ...input.PrincipalTags } };
    const cleared = !map.useDefaults && Object.keys(map.principalTags).length === 0;
    const pool = await changePool(ctx, input.IdentityPoolId, (current) => {
      requirePoolProvider(current, providerName);
      const { [providerName]: _previous, ...others } = current.principalTagMaps;
      return { ...current, principalTagMaps: cleared ? others : { ...others, [providerName]: map } };
    });
    return principalTagMapWire(pool, providerName, map);
  },
});
