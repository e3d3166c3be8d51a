import {
  ListRecordsCommand, UpdateRecordsCommand, type RecordPatch, type CognitoSyncClient,
} from '@aws-sdk/client-cognito-sync';
import { expect } from 'vitest';

export interface DatasetRef {
  readonly poolId: string;
  readonly identityId: string;
  readonly dataset: string;
}

/** ListRecords then UpdateRecords with its session token: what every Sync Manager does. */
export async function write(sync: CognitoSyncClient, ref: DatasetRef, patches: RecordPatch[]) {
  const listed = await sync.send(new ListRecordsCommand({
    IdentityPoolId: ref.poolId, IdentityId: ref.identityId, DatasetName: ref.dataset,
  }));
  return sync.send(new UpdateRecordsCommand({
    IdentityPoolId: ref.poolId, IdentityId: ref.identityId, DatasetName: ref.dataset,
    SyncSessionToken: listed.SyncSessionToken, RecordPatches: patches,
  }));
}

export function put(key: string, value: string, syncCount = 0): RecordPatch {
  return { Op: 'replace', Key: key, Value: value, SyncCount: syncCount };
}

/** Runs `call` and checks it fails with the given AWS error name, status and (part of the) message. */
export async function expectError(call: Promise<unknown>, name: string, status: number, message?: string | RegExp) {
  const err = await call.then(
    () => { throw new Error(`expected ${name}, got success`); },
    (e: unknown) => e as { name: string; message: string; $metadata?: { httpStatusCode?: number; requestId?: string } },
  );
  expect(err.name).toBe(name);
  expect(err.$metadata?.httpStatusCode).toBe(status);
  expect(err.$metadata?.requestId).toBeTruthy();
  if (typeof message === 'string') expect(err.message).toContain(message);
  else if (message) expect(err.message).toMatch(message);
  return err;
}
