import { defineSyncOperation } from '../../operation.js';
import { errors } from '../../errors.js';
import { requireDataset, requireIdentity } from '../common.js';
import { requireDevice, type SubscriptionInput } from '../subscription.js';

/**
 * Subscribes a registered device to a dataset's changes (identity credentials only). The dataset must exist
 * ("synchronize at least once on each dataset" before subscribing) and the device must be the caller's.
 */
export const subscribeToDataset = defineSyncOperation({
  name: 'SubscribeToDataset',
  auth: 'identity',
  async handler(input: SubscriptionInput, ctx) {
    const { store, clock } = ctx.services;
    await requireIdentity(ctx, input.IdentityPoolId, input.IdentityId, 'notFound');
    await requireDevice(ctx, input, 'subscribe');
    await requireDataset(ctx, input.IdentityId, input.DatasetName);
    if (!(await store.subscribe(input.IdentityId, input.DatasetName, input.DeviceId, clock.now()))) {
      // The dataset (DeleteDataset) or the device (DeleteIdentities) was deleted meanwhile: answered as when it was
      // already gone.
      await requireDataset(ctx, input.IdentityId, input.DatasetName);
      throw errors.notFound(`Device '${input.DeviceId}' is not registered to identity '${input.IdentityId}'.`);
    }
    return {};
  },
});
