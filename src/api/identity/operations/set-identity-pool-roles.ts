import { defineIdentityOperation } from '../../operation.js';
import { errors } from '../../errors.js';
import { changePool } from '../common.js';

interface SetIdentityPoolRolesInput {
  IdentityPoolId: string;
  /** `authenticated` / `unauthenticated` → IAM role ARN. */
  Roles: Record<string, string>;
  RoleMappings?: Record<string, unknown>;
}

/**
 * Developer credentials only: stores the pool's roles and role mappings and answers them back in
 * GetIdentityPoolRoles. Cosync has no IAM: credentials it issues reach only their identity's own data whatever
 * the roles say (SECURITY.md).
 */
export const setIdentityPoolRoles = defineIdentityOperation({
  name: 'SetIdentityPoolRoles',
  auth: 'developer',
  async handler(input: SetIdentityPoolRolesInput, ctx) {
    checkRoleMappings(input.RoleMappings ?? {});
    await changePool(ctx, input.IdentityPoolId, (current) => ({
      ...current, roles: { ...input.Roles }, roleMappings: { ...(input.RoleMappings ?? {}) },
    }));
    return {};
  },
});

/** Rules per identity provider (the model's RulesConfigurationType: "up to 25 rules per identity provider"). */
const MAX_RULES = 25;

/**
 * What the model's documentation requires of a role mapping beyond its shape: AmbiguousRoleResolution for Token and
 * Rules (every type there is), RulesConfiguration for Rules, and at most MAX_RULES rules.
 */
function checkRoleMappings(mappings: Record<string, unknown>): void {
  for (const [provider, value] of Object.entries(mappings)) {
    const mapping = value as { Type?: unknown; AmbiguousRoleResolution?: unknown; RulesConfiguration?: { Rules?: unknown[] } };
    if (mapping.AmbiguousRoleResolution === undefined) {
      throw errors.invalidParameter(`AmbiguousRoleResolution is required for the role mapping of ${provider} (Type ${String(mapping.Type)}).`);
    }
    if (mapping.Type === 'Rules' && mapping.RulesConfiguration === undefined) {
      throw errors.invalidParameter(`RulesConfiguration is required for the role mapping of ${provider} (Type Rules).`);
    }
    const rules = mapping.RulesConfiguration?.Rules?.length ?? 0;
    if (rules > MAX_RULES) {
      throw errors.invalidParameter(`The role mapping of ${provider} has ${rules} rules; at most ${MAX_RULES} are allowed per identity provider.`);
    }
  }
}
