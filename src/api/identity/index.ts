import type { Operation } from '../operation.js';
import type { IdentityOperationName } from '../model/cognito-identity-model.js';
import { createIdentityPool } from './operations/create-identity-pool.js';
import { deleteIdentityPool } from './operations/delete-identity-pool.js';
import { describeIdentity } from './operations/describe-identity.js';
import { describeIdentityPool } from './operations/describe-identity-pool.js';
import { getId } from './operations/get-id.js';
import { listIdentities } from './operations/list-identities.js';
import { listIdentityPools } from './operations/list-identity-pools.js';
import { updateIdentityPool } from './operations/update-identity-pool.js';

/**
 * The Cognito Identity operations this server implements, keyed by operation name (the X-Amz-Target suffix).
 * Operations of the model that are absent here answer UnknownOperationException at the edge. Each key equals its
 * operation's `name` (test/api/identity-pools.test.ts checks it).
 */
export const identityOperations = {
  CreateIdentityPool: createIdentityPool,
  DescribeIdentityPool: describeIdentityPool,
  ListIdentityPools: listIdentityPools,
  UpdateIdentityPool: updateIdentityPool,
  DeleteIdentityPool: deleteIdentityPool,
  ListIdentities: listIdentities,
  DescribeIdentity: describeIdentity,
  GetId: getId,
} satisfies Partial<Record<IdentityOperationName, Operation<IdentityOperationName, never>>>;
