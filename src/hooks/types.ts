import type { Principal } from '../auth/principal.js';
import type { RecordRow } from '../storage/types.js';

/**
 * What Cognito Sync set in motion around the data (Sync Triggers, streams, push) is plugged in as typed hooks.
 * Contracts:
 * - `beforeUpdateRecords` runs before the commit of an UpdateRecords made with identity credentials. It may
 *   replace the change set or reject the write by throwing a ServiceError (InvalidLambdaFunctionOutputException,
 *   LambdaThrottledException); hooks run in registration order, each seeing the previous one's output. The pool's
 *   own Sync Trigger (SetCognitoEvents, src/triggers/) runs after them and sees their output.
 * - `after*` hooks run after the commit, in registration order, after the response is decided; they cannot
 *   change or fail the request. Their errors are logged as `[hookName] message` with the request id.
 */
export interface SyncHooks {
  readonly name: string;
  beforeUpdateRecords?(payload: BeforeUpdateRecordsPayload): Promise<RecordChange[] | undefined>;
  afterDatasetChanged?(payload: DatasetChangedPayload): Promise<void>;
  afterDatasetDeleted?(payload: DatasetDeletedPayload): Promise<void>;
  /** Publishes a pool's existing data (BulkPublish). Throwing marks the bulk publish FAILED with its message. */
  bulkPublish?(payload: BulkPublishPayload): Promise<void>;
}

export interface RecordChange {
  readonly op: 'replace' | 'remove';
  readonly key: string;
  readonly value: string | undefined;
  readonly syncCount: number;
  readonly deviceLastModifiedAt: number | undefined;
}

export interface DatasetRef {
  readonly region: string;
  readonly identityPoolId: string;
  readonly identityId: string;
  readonly datasetName: string;
}

export interface BeforeUpdateRecordsPayload extends DatasetRef {
  readonly requestId: string;
  readonly principal: Principal;
  readonly changes: readonly RecordChange[];
}

export interface DatasetChangedPayload extends DatasetRef {
  readonly requestId: string;
  readonly principal: Principal;
  readonly syncCount: number;
  /** The records written: at least one (a push whose changes were all dropped, which moves only the count, has no hook call). */
  readonly records: readonly RecordRow[];
  readonly deviceId: string | undefined;
}

export interface DatasetDeletedPayload extends DatasetRef {
  readonly requestId: string;
  readonly principal: Principal;
}

export interface BulkPublishPayload {
  readonly region: string;
  readonly identityPoolId: string;
  readonly requestId: string;
}
