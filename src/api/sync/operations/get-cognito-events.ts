import { defineSyncOperation } from '../../operation.js';
import { requirePool } from '../common.js';

/** The pool's Cognito Events (event type → trigger: Lambda function ARN, webhook URL or module:<name>); `{}` when none are set. */
export const getCognitoEvents = defineSyncOperation({
  name: 'GetCognitoEvents',
  auth: 'developer',
  async handler(input: { IdentityPoolId: string }, ctx) {
    await requirePool(ctx, input.IdentityPoolId, 'notFound');
    const settings = await ctx.services.store.getPoolSyncSettings(input.IdentityPoolId);
    return { Events: { ...settings.events } };
  },
});
