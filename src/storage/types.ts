/**
 * Rows the storage layer keeps. Field names are camelCase; times are epoch milliseconds (integers).
 * The API layer converts to AWS's wire shapes (PascalCase, epoch seconds) in exactly one place per operation.
 */

export interface IdentityPool {
  readonly identityPoolId: string;
  readonly identityPoolName: string;
  readonly allowUnauthenticatedIdentities: boolean;
  readonly allowClassicFlow: boolean;
  readonly supportedLoginProviders: Readonly<Record<string, string>>;
  readonly developerProviderName: string | null;
  readonly openIdConnectProviderArns: readonly string[];
  readonly cognitoIdentityProviders: readonly CognitoIdentityProvider[];
  readonly samlProviderArns: readonly string[];
  readonly tags: Readonly<Record<string, string>>;
  /** SetIdentityPoolRoles: role type (`authenticated`, `unauthenticated`) → role ARN. Empty when never set. */
  readonly roles: Readonly<Record<string, string>>;
  /** SetIdentityPoolRoles: provider → RoleMapping, kept in its wire shape (Cosync has no IAM to apply it to). */
  readonly roleMappings: Readonly<Record<string, unknown>>;
  /**
   * SetPrincipalTagAttributeMap: provider name (one the pool uses) → its principal tag attribute map. A provider
   * without an entry has none (UseDefaults false, no tags). Stored only; Cosync has no IAM to apply the tags in.
   */
  readonly principalTagMaps: Readonly<Record<string, PrincipalTagMap>>;
  readonly createdAt: number;
}

/** How a provider's token claims become session tags: the default mapping, and/or tag key → claim name. */
export interface PrincipalTagMap {
  readonly useDefaults: boolean;
  readonly principalTags: Readonly<Record<string, string>>;
}

export interface CognitoIdentityProvider {
  readonly providerName: string;
  readonly clientId: string;
  readonly serverSideTokenCheck: boolean;
}

/** A login as named within a pool: its provider and the user's identifier there. */
export interface LoginName {
  readonly providerName: string;
  readonly subject: string;
}

/**
 * A login linked to an identity: the provider name as the client sends it in `Logins` (e.g.
 * `accounts.google.com`, `cognito-idp.us-east-1.amazonaws.com/us-east-1_abc`, or a pool's developer provider
 * name) and the user's identifier at that provider (the token's `sub`, or the developer user identifier).
 * Within one pool a (providerName, subject) pair belongs to at most one identity.
 */
export interface Login extends LoginName {
  readonly identityPoolId: string;
  readonly identityId: string;
  readonly linkedAt: number;
}

/** What an identity merge did (see SyncStore.mergeIdentities). */
export interface MergeOutcome {
  /** Names under the survivor of the datasets moved from the merged identity. */
  readonly movedDatasets: readonly string[];
  readonly movedLogins: number;
}

export interface Identity {
  readonly identityId: string;
  readonly identityPoolId: string;
  readonly createdAt: number;
  readonly lastModifiedAt: number;
  /** A disabled identity (the loser of a merge) can no longer be used; kept so its ID is never reissued. */
  readonly disabled: boolean;
}

/**
 * One dataset of one identity. The row outlives DeleteDataset (marked `deleted`, records purged) so that the
 * sync count stays monotonic across delete and re-create and ListRecords can report the deletion.
 */
export interface DatasetRow {
  readonly identityId: string;
  readonly datasetName: string;
  /** Internal, monotonic: never goes back, not even when the dataset is deleted and re-created. */
  readonly syncCount: number;
  readonly deleted: boolean;
  /** The sync count the dataset had when it was last deleted; null if it never was. */
  readonly lastDeletedAtSyncCount: number | null;
  readonly createdAt: number;
  readonly lastModifiedAt: number;
  readonly lastModifiedBy: string;
  /** Live records (tombstones excluded). */
  readonly numRecords: number;
  /** UTF-8 bytes of keys and values of live records. */
  readonly dataStorage: number;
  /** For a dataset re-parented by an identity merge (`<name>.<oldIdentityId>`): the name it was merged into. */
  readonly mergeParent: string | null;
}

export interface RecordRow {
  readonly key: string;
  /** null marks a tombstone: the record was removed at `syncCount`. */
  readonly value: string | null;
  readonly syncCount: number;
  readonly lastModifiedAt: number;
  readonly lastModifiedBy: string;
  readonly deviceLastModifiedAt: number;
}

/** A dataset with what ListRecords reports alongside it, read together (SyncStore.getDatasetView). */
export interface DatasetView {
  /** The owning identity; undefined when it does not exist. */
  readonly identity: Identity | undefined;
  /** The dataset row, deleted ones included; undefined when it never existed. */
  readonly dataset: DatasetRow | undefined;
  /** What listMergedDatasetNames returns for this dataset: live datasets merged into it, ordered by name. */
  readonly mergedDatasetNames: string[];
}

/** What a write plan needs to know about a record it may replace: its count and its current size. */
export interface CurrentRecord {
  readonly syncCount: number;
  /** UTF-8 bytes of key + value; 0 for a tombstone. */
  readonly bytes: number;
  readonly live: boolean;
}

export interface DatasetWriteState {
  /** The identity's row, read in the same transaction; undefined when there is none. */
  readonly identity: Identity | undefined;
  /** undefined when the dataset never existed. */
  readonly dataset: DatasetRow | undefined;
  /** Current rows (live or tombstone) for the keys the request names; keys never written are absent. */
  readonly currentRecords: ReadonlyMap<string, CurrentRecord>;
  /** Live datasets of the identity, this one included if it is live. */
  readonly liveDatasetCount: number;
  /** True when the request's sync session already committed a write. */
  readonly sessionConsumed: boolean;
}

/** The rows a successful write leaves behind, computed by the domain and stored verbatim. */
export interface WritePlan {
  /** The dataset's new state; undefined leaves the dataset untouched (a no-op write). */
  readonly dataset: DatasetRow | undefined;
  readonly records: readonly RecordRow[];
}

/** Identifies a consumed session: its id and its token's expiry (epoch ms). */
export interface ConsumedSessionKey {
  readonly sessionId: string;
  readonly expiresAt: number;
}

export interface WriteCommand {
  readonly identityPoolId: string;
  readonly identityId: string;
  readonly datasetName: string;
  readonly keys: readonly string[];
  readonly sessionId: string;
  /** Epoch ms after which the consumed-session marker may be forgotten (the token has expired by then). */
  readonly sessionExpiresAt: number;
}

export interface PushSyncSettings {
  readonly applicationArns: readonly string[];
  readonly roleArn: string | null;
}

export interface StreamsSettings {
  readonly streamName: string | null;
  readonly roleArn: string | null;
  readonly streamingStatus: 'ENABLED' | 'DISABLED';
}

export type BulkPublishStatus = 'NOT_STARTED' | 'IN_PROGRESS' | 'FAILED' | 'SUCCEEDED';

export interface BulkPublishState {
  readonly status: BulkPublishStatus;
  readonly startedAt: number | null;
  readonly completedAt: number | null;
  readonly failureMessage: string | null;
  /**
   * While IN_PROGRESS: until when the server running the publish vouches for it (src/domain/bulk-publish.ts). It
   * renews this while it works; a run whose lease ran out lost its server. Absent in states stored before it existed.
   */
  readonly leaseUntil?: number;
}

/** Cognito Sync settings of one identity pool (SetCognitoEvents, SetIdentityPoolConfiguration, BulkPublish). */
export interface PoolSyncSettings {
  readonly events: Readonly<Record<string, string>>;
  readonly pushSync: PushSyncSettings | null;
  readonly cognitoStreams: StreamsSettings | null;
  readonly bulkPublish: BulkPublishState;
}

export interface Device {
  readonly deviceId: string;
  readonly identityId: string;
  readonly platform: string;
  readonly token: string;
  readonly createdAt: number;
}

export interface IdentityUsage {
  readonly datasetCount: number;
  readonly dataStorage: number;
  readonly lastModifiedAt: number | null;
}

export interface PoolUsage {
  readonly identityPoolId: string;
  readonly dataStorage: number;
  /** Committed sync sessions (successful UpdateRecords) over the pool's lifetime. */
  readonly syncSessionsCount: number;
  readonly lastModifiedAt: number | null;
}

export interface Page<K> {
  /** Exclusive lower bound: the key of the last item of the previous page. */
  readonly after?: K | undefined;
  readonly limit: number;
}
