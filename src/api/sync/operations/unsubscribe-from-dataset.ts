import { defineSyncOperation } from '../../operation.js';
import { errors } from '../../errors.js';
import { requireIdentity } from '../common.js';
import { requireDevice, type SubscriptionInput } from '../subscription.js';

/**
 * Ends a device's subscription to a dataset (identity credentials only). Unsubscribing a dataset the device
 * is not subscribed to answers 404, which Android reads as "not a subscription".
 */
export const unsubscribeFromDataset = defineSyncOperation({
  name: 'UnsubscribeFromDataset',
  auth: 'identity',
  async handler(input: SubscriptionInput, ctx) {
    await requireIdentity(ctx, input.IdentityPoolId, input.IdentityId, 'notFound');
    await requireDevice(ctx, input, 'unsubscribe');
    const removed = await ctx.services.store.unsubscribe(input.IdentityId, input.DatasetName, input.DeviceId);
    if (!removed) {
      throw errors.notFound(`Device '${input.DeviceId}' is not subscribed to dataset '${input.DatasetName}'.`);
    }
    return {};
  },
});
