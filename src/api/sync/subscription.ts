import { errors } from '../errors.js';
import type { RequestContext } from '../operation.js';
import { requirePushConfigured } from './push-config.js';

export interface SubscriptionInput {
  IdentityPoolId: string;
  IdentityId: string;
  DatasetName: string;
  DeviceId: string;
}

/**
 * The device must be registered to the identity the path names, and, to subscribe, push must still be configured
 * for its platform. Unsubscribing needs no push configuration: a device can still end its subscriptions after the
 * pool's push was turned off (Android takes only a 404 there as "not subscribed").
 */
export async function requireDevice(ctx: RequestContext, input: SubscriptionInput, purpose: 'subscribe' | 'unsubscribe'): Promise<void> {
  const device = await ctx.services.store.getDevice(input.IdentityId, input.DeviceId);
  if (!device) {
    throw errors.notFound(`Device '${input.DeviceId}' is not registered to identity '${input.IdentityId}'.`);
  }
  if (purpose === 'subscribe') await requirePushConfigured(ctx, input.IdentityPoolId, device.platform);
}
