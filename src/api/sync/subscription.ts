import { errors } from '../errors.js';
import type { RequestContext } from '../operation.js';
import { requirePushConfigured } from './push-config.js';

export interface SubscriptionInput {
  IdentityPoolId: string;
  IdentityId: string;
  DatasetName: string;
  DeviceId: string;
}

/** The device must be registered to the identity the path names, and push must still be configured for it. */
export async function requireDevice(ctx: RequestContext, input: SubscriptionInput): Promise<void> {
  const device = await ctx.services.store.getDevice(input.IdentityId, input.DeviceId);
  if (!device) {
    throw errors.notFound(`Device '${input.DeviceId}' is not registered to identity '${input.IdentityId}'.`);
  }
  await requirePushConfigured(ctx, input.IdentityPoolId, device.platform);
}
