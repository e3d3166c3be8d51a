import { defineSyncOperation } from '../../operation.js';
import { errors } from '../../errors.js';
import { requirePool, updatePoolSettings } from '../common.js';
import { poolConfigurationShape } from '../configuration-shape.js';
import type { PushSyncSettings, StreamsSettings } from '../../../storage/types.js';

interface SetIdentityPoolConfigurationInput {
  IdentityPoolId: string;
  PushSync?: { ApplicationArns?: string[]; RoleArn?: string };
  CognitoStreams?: { StreamName?: string; RoleArn?: string; StreamingStatus?: 'ENABLED' | 'DISABLED' };
}

/**
 * Sets PushSync and/or CognitoStreams. A section sent replaces the stored one; a section left out keeps its
 * value. Streaming defaults to ENABLED when a stream is named, and ENABLED needs a StreamName. Updates are
 * atomic and serialised, so ConcurrentModificationException never arises.
 */
export const setIdentityPoolConfiguration = defineSyncOperation({
  name: 'SetIdentityPoolConfiguration',
  auth: 'developer',
  async handler(input: SetIdentityPoolConfigurationInput, ctx) {
    await requirePool(ctx, input.IdentityPoolId, 'notFound');
    const pushSync = input.PushSync && toPushSync(input.PushSync);
    const streams = input.CognitoStreams && toStreams(input.CognitoStreams);
    const settings = await updatePoolSettings(ctx, input.IdentityPoolId, (current) => ({
      ...current,
      ...(pushSync ? { pushSync } : {}),
      ...(streams ? { cognitoStreams: streams } : {}),
    }));
    return poolConfigurationShape(input.IdentityPoolId, settings);
  },
});

function toPushSync(input: NonNullable<SetIdentityPoolConfigurationInput['PushSync']>): PushSyncSettings {
  const applicationArns = input.ApplicationArns ?? [];
  if (applicationArns.length > 0 && !input.RoleArn) {
    throw errors.invalidParameter('PushSync.RoleArn is required when ApplicationArns are given');
  }
  return { applicationArns, roleArn: input.RoleArn ?? null };
}

function toStreams(input: NonNullable<SetIdentityPoolConfigurationInput['CognitoStreams']>): StreamsSettings {
  const streamingStatus = input.StreamingStatus ?? (input.StreamName ? 'ENABLED' : 'DISABLED');
  if (streamingStatus === 'ENABLED' && (!input.StreamName || !input.RoleArn)) {
    throw errors.invalidParameter('CognitoStreams.StreamName and CognitoStreams.RoleArn are required when streaming is ENABLED');
  }
  return { streamName: input.StreamName ?? null, roleArn: input.RoleArn ?? null, streamingStatus };
}
