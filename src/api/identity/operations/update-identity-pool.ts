import { defineIdentityOperation } from '../../operation.js';
import { errors } from '../../errors.js';
import { changePool } from '../common.js';
import { poolDescription, poolFromSettings, type IdentityPoolWire } from '../pool-shape.js';
import type { IdentityPool } from '../../../storage/types.js';

/**
 * Replaces the pool's settings with the ones given (the full IdentityPool shape; absent optional members reset
 * to false/empty) and answers the new description. Kept from the stored pool:
 * - createdAt;
 * - DeveloperProviderName: the model documents "Once you have set a developer provider name, you cannot change
 *   it". Decision: omitting it keeps the stored name (so re-sending a description without it is harmless);
 *   sending a different one is InvalidParameterException; setting one on a pool that had none is allowed.
 * - IdentityPoolTags when the member is absent: in AWS tags are resource metadata (TagResource/UntagResource),
 *   so an update that does not mention them must not wipe them. When present, they replace the stored tags.
 * - roles and role mappings: they are not part of the IdentityPool shape (SetIdentityPoolRoles sets them).
 * - principal tag attribute maps (SetPrincipalTagAttributeMap sets them), also those of providers this update
 *   removes: Get/SetPrincipalTagAttributeMap only answer for providers the pool uses, so they stay out of sight
 *   unless the provider is added back.
 */
export const updateIdentityPool = defineIdentityOperation({
  name: 'UpdateIdentityPool',
  auth: 'developer',
  async handler(input: IdentityPoolWire, ctx) {
    // Merged with the pool as stored when the change is written: a TagResource or SetIdentityPoolRoles meanwhile
    // is kept.
    return poolDescription(await changePool(ctx, input.IdentityPoolId, (current) => mergeSettings(current, input)));
  },
});

function mergeSettings(current: IdentityPool, input: IdentityPoolWire): IdentityPool {
  const stored = current.developerProviderName;
  if (stored !== null && input.DeveloperProviderName !== undefined && input.DeveloperProviderName !== stored) {
    throw errors.invalidParameter(
      `DeveloperProviderName cannot be changed once set (it is '${stored}' for this identity pool).`,
    );
  }
  const next = poolFromSettings(current.identityPoolId, input, current.createdAt);
  return {
    ...next,
    developerProviderName: next.developerProviderName ?? stored,
    tags: input.IdentityPoolTags === undefined ? current.tags : next.tags,
    roles: current.roles,
    roleMappings: current.roleMappings,
    principalTagMaps: current.principalTagMaps,
  };
}
