import { defineIdentityOperation } from '../../operation.js';
import { requirePool } from '../common.js';

/** Developer credentials only: the roles and role mappings stored by SetIdentityPoolRoles. */
export const getIdentityPoolRoles = defineIdentityOperation({
  name: 'GetIdentityPoolRoles',
  auth: 'developer',
  async handler(input: { IdentityPoolId: string }, ctx) {
    const pool = await requirePool(ctx, input.IdentityPoolId);
    return {
      IdentityPoolId: pool.identityPoolId,
      Roles: { ...pool.roles },
      ...(Object.keys(pool.roleMappings).length > 0 ? { RoleMappings: { ...pool.roleMappings } } : {}),
    };
  },
});
