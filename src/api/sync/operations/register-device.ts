import { defineSyncOperation } from '../../operation.js';
import { errors, identityNotFound } from '../../errors.js';
import { requireIdentity } from '../common.js';
import { requirePushConfigured } from '../push-config.js';

interface RegisterDeviceInput {
  IdentityPoolId: string;
  IdentityId: string;
  Platform: 'APNS' | 'APNS_SANDBOX' | 'GCM' | 'ADM';
  Token: string;
}

/**
 * Registers a device's push token for the caller's identity (identity credentials only) and answers its
 * DeviceId. Registering the same token again answers the same DeviceId, since clients cache it per identity.
 */
export const registerDevice = defineSyncOperation({
  name: 'RegisterDevice',
  auth: 'identity',
  async handler(input: RegisterDeviceInput, ctx) {
    const { store, ids, clock } = ctx.services;
    // No push service issues a token holding U+0000, and PostgreSQL's text cannot store one: refused on every engine.
    if (input.Token.includes('\u0000')) {
      throw errors.invalidParameter("1 validation error detected: Value at 'token' failed to satisfy constraint: Member must not contain U+0000");
    }
    await requireIdentity(ctx, input.IdentityPoolId, input.IdentityId, 'notFound');
    await requirePushConfigured(ctx, input.IdentityPoolId, input.Platform);
    const device = await store.registerDevice({
      deviceId: ids.uuid(),
      identityId: input.IdentityId,
      platform: input.Platform,
      token: input.Token,
      createdAt: clock.now(),
    });
    // Deleted meanwhile (DeleteIdentities), as requireIdentity answers an identity that is not there.
    if (!device) throw identityNotFound(input.IdentityId);
    return { DeviceId: device.deviceId };
  },
});
