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
import { getCredentialsForIdentity } from './operations/get-credentials-for-identity.js';
import { getOpenIdToken } from './operations/get-open-id-token.js';
import { getOpenIdTokenForDeveloperIdentity } from './operations/get-open-id-token-for-developer-identity.js';
import { lookupDeveloperIdentity } from './operations/lookup-developer-identity.js';
import { mergeDeveloperIdentities } from './operations/merge-developer-identities.js';
import { unlinkDeveloperIdentity } from './operations/unlink-developer-identity.js';
import { unlinkIdentity } from './operations/unlink-identity.js';
import { deleteIdentities } from './operations/delete-identities.js';
import { setIdentityPoolRoles } from './operations/set-identity-pool-roles.js';
import { getIdentityPoolRoles } from './operations/get-identity-pool-roles.js';
import { tagResource } from './operations/tag-resource.js';
import { untagResource } from './operations/untag-resource.js';
import { listTagsForResource } from './operations/list-tags-for-resource.js';
import { getPrincipalTagAttributeMap } from './operations/get-principal-tag-attribute-map.js';
import { setPrincipalTagAttributeMap } from './operations/set-principal-tag-attribute-map.js';

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
  GetCredentialsForIdentity: getCredentialsForIdentity,
  GetOpenIdToken: getOpenIdToken,
  GetOpenIdTokenForDeveloperIdentity: getOpenIdTokenForDeveloperIdentity,
  LookupDeveloperIdentity: lookupDeveloperIdentity,
  MergeDeveloperIdentities: mergeDeveloperIdentities,
  UnlinkDeveloperIdentity: unlinkDeveloperIdentity,
  UnlinkIdentity: unlinkIdentity,
  DeleteIdentities: deleteIdentities,
  SetIdentityPoolRoles: setIdentityPoolRoles,
  GetIdentityPoolRoles: getIdentityPoolRoles,
  TagResource: tagResource,
  UntagResource: untagResource,
  ListTagsForResource: listTagsForResource,
  GetPrincipalTagAttributeMap: getPrincipalTagAttributeMap,
  SetPrincipalTagAttributeMap: setPrincipalTagAttributeMap,
} satisfies Partial<Record<IdentityOperationName, Operation<IdentityOperationName, never>>>;
