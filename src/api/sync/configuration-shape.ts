import type { PoolSyncSettings } from '../../storage/types.js';

/** The wire answer of Get/SetIdentityPoolConfiguration. */
export function poolConfigurationShape(identityPoolId: string, settings: PoolSyncSettings) {
  const { pushSync, cognitoStreams } = settings;
  return {
    IdentityPoolId: identityPoolId,
    ...(pushSync
      ? { PushSync: { ApplicationArns: [...pushSync.applicationArns], ...(pushSync.roleArn ? { RoleArn: pushSync.roleArn } : {}) } }
      : {}),
    ...(cognitoStreams
      ? {
          CognitoStreams: {
            ...(cognitoStreams.streamName ? { StreamName: cognitoStreams.streamName } : {}),
            ...(cognitoStreams.roleArn ? { RoleArn: cognitoStreams.roleArn } : {}),
            StreamingStatus: cognitoStreams.streamingStatus,
          },
        }
      : {}),
  };
}
