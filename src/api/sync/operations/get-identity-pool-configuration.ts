import { defineSyncOperation } from '../../operation.js';
import { requirePool } from '../common.js';
import { poolConfigurationShape } from '../configuration-shape.js';

/** The pool's PushSync and CognitoStreams settings (absent when never set). */
export const getIdentityPoolConfiguration = defineSyncOperation({
  name: 'GetIdentityPoolConfiguration',
  auth: 'developer',
  async handler(input: { IdentityPoolId: string }, ctx) {
    await requirePool(ctx, input.IdentityPoolId, 'notFound');
    const settings = await ctx.services.store.getPoolSyncSettings(input.IdentityPoolId);
    return poolConfigurationShape(input.IdentityPoolId, settings);
  },
});
