import { defineIdentityOperation } from '../../operation.js';
import { errors } from '../../errors.js';
import { requirePool } from '../common.js';

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
    const pool = await requirePool(ctx, input.IdentityPoolId);
    const updated = await ctx.services.store.updateIdentityPool({
      ...pool, roles: { ...input.Roles }, roleMappings: { ...(input.RoleMappings ?? {}) },
    });
    if (!updated) throw errors.notFound(`IdentityPool '${input.IdentityPoolId}' not found.`);
    return {};
  },
});
