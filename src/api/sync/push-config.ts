import { errors } from '../errors.js';
import type { RequestContext } from '../operation.js';

/** The platform an SNS platform application ARN serves: `arn:aws:sns:<region>:<acct>:app/<PLATFORM>/<name>`. */
export function platformOfApplicationArn(arn: string): string | undefined {
  return /:app\/([A-Z_]+)\//.exec(arn)?.[1];
}

/**
 * Push devices need the pool's PushSync configuration (SetIdentityPoolConfiguration) with a platform
 * application for their platform; otherwise InvalidConfigurationException, as the model lists for
 * RegisterDevice, SubscribeToDataset and UnsubscribeFromDataset.
 */
export async function requirePushConfigured(ctx: RequestContext, identityPoolId: string, platform: string): Promise<void> {
  const settings = await ctx.services.store.getPoolSyncSettings(identityPoolId);
  const arns = settings.pushSync?.applicationArns ?? [];
  if (arns.length === 0) {
    throw errors.invalidConfiguration(`Push sync is not configured for identity pool ${identityPoolId}; set PushSync with SetIdentityPoolConfiguration`);
  }
  if (!arns.some((arn) => platformOfApplicationArn(arn) === platform)) {
    throw errors.invalidConfiguration(`Identity pool ${identityPoolId} has no push platform application for platform ${platform}`);
  }
}
