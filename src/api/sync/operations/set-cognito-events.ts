import { defineSyncOperation } from '../../operation.js';
import { errors } from '../../errors.js';
import { requirePool, updatePoolSettings } from '../common.js';

/** The event types Cognito Sync defines; SyncTrigger is the only one. */
export const COGNITO_EVENT_TYPES = ['SyncTrigger'] as const;

interface SetCognitoEventsInput {
  IdentityPoolId: string;
  Events: Record<string, string>;
}

/**
 * Merges the given events into the pool's: keys present change, others keep their values, and a key sent
 * with an empty value is removed (model doc). Unknown event types are refused, and so is a SyncTrigger this server
 * cannot call: a Lambda function ARN, a webhook URL on the allow-list, or `module:<name>` of a configured module
 * (src/triggers/target.ts).
 */
export const setCognitoEvents = defineSyncOperation({
  name: 'SetCognitoEvents',
  auth: 'developer',
  async handler(input: SetCognitoEventsInput, ctx) {
    await requirePool(ctx, input.IdentityPoolId, 'notFound');
    for (const type of Object.keys(input.Events)) {
      if (!(COGNITO_EVENT_TYPES as readonly string[]).includes(type)) {
        throw errors.invalidParameter(`Unknown Cognito event type '${type}'; valid types: ${COGNITO_EVENT_TYPES.join(', ')}`);
      }
      const value = input.Events[type] ?? '';
      const refused = value === '' ? undefined : ctx.services.triggers.refuse(value);
      if (refused !== undefined) throw errors.invalidParameter(`Invalid ${type}: ${refused}`);
    }
    await updatePoolSettings(ctx, input.IdentityPoolId, (current) => {
      const events: Record<string, string> = { ...current.events };
      for (const [type, arn] of Object.entries(input.Events)) {
        if (arn === '') delete events[type];
        else events[type] = arn;
      }
      return { ...current, events };
    });
    return {};
  },
});
