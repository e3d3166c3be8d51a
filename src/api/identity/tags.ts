import { errors } from '../errors.js';
import type { RequestContext } from '../operation.js';
import type { IdentityPool } from '../../storage/types.js';
import { requirePool } from './common.js';

/**
 * Identity pool tags: the ARN that names a pool in TagResource / UntagResource / ListTagsForResource, and AWS's
 * per-resource tag cap, shared with CreateIdentityPool / UpdateIdentityPool (IdentityPoolTags are the same tags).
 */

/** AWS allows at most 50 tags on a resource. */
export const MAX_POOL_TAGS = 50;

/** `arn:<partition>:cognito-identity:<region>:<account>:identitypool/<IdentityPoolId>`. */
const POOL_ARN = /^arn:(aws[a-z-]*):cognito-identity:([^:]*):([^:]*):identitypool\/(.+)$/;

/**
 * The pool a ResourceArn names. Not an identity pool ARN, or one of another region ⇒ InvalidParameterException
 * (no request can succeed with it here); another account's pool or a pool that does not exist ⇒
 * ResourceNotFoundException.
 */
export async function requirePoolByArn(ctx: RequestContext, arn: string): Promise<IdentityPool> {
  const match = POOL_ARN.exec(arn);
  if (!match) {
    throw errors.invalidParameter(
      `ResourceArn '${arn}' is not an identity pool ARN ` +
        '(arn:aws:cognito-identity:<region>:<account>:identitypool/<IdentityPoolId>).',
    );
  }
  const [, , region, account, identityPoolId = ''] = match;
  const { config, accountId } = ctx.services;
  if (region !== config.region) {
    throw errors.invalidParameter(`ResourceArn '${arn}' is in region '${region}'; this server serves '${config.region}'.`);
  }
  if (account !== accountId) throw errors.notFound(`IdentityPool '${arn}' not found: account '${account}' has no pools here.`);
  return requirePool(ctx, identityPoolId);
}

/** Refuses a tag set above the cap (the model lists no LimitExceededException for tagging). */
export function checkTagCount(tags: Readonly<Record<string, string>>): void {
  const count = Object.keys(tags).length;
  if (count > MAX_POOL_TAGS) {
    throw errors.invalidParameter(`An identity pool can have at most ${MAX_POOL_TAGS} tags; this request would leave it with ${count}.`);
  }
}
