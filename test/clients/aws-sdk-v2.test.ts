/**
 * The AWS SDK for JavaScript v2 (aws-sdk 2.x, what amazon-cognito-js runs on) against the real server:
 * its restJson serializer, signer and error parser (WIRE §1, §3: err.code, err.statusCode, err.retryable).
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { poolWithIdentity, startServer, type TestServer } from '../helpers/server.js';

process.env['AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE'] = '1';
const require = createRequire(import.meta.url);
const AWS = require('aws-sdk') as typeof import('aws-sdk');

interface V2Error { code: string; statusCode: number; message: string; retryable: boolean; requestId?: string }

let t: TestServer;
let poolId: string;
let identityId: string;
let sync: InstanceType<typeof AWS.CognitoSync>;

beforeAll(async () => {
  t = await startServer();
  ({ poolId, identityId } = await poolWithIdentity(t));
  sync = new AWS.CognitoSync({
    endpoint: t.endpoint, region: t.region, maxRetries: 0,
    credentials: new AWS.Credentials(t.credentials.accessKeyId, t.credentials.secretAccessKey),
  });
});
afterAll(() => t.close());

async function v2Error(call: Promise<unknown>): Promise<V2Error> {
  return call.then(
    () => { throw new Error('expected an error, got success'); },
    (e: unknown) => e as V2Error,
  );
}

describe('aws-sdk v2 CognitoSync client', () => {
  const ref = { IdentityPoolId: '', IdentityId: '', DatasetName: 'v2_profile' };
  beforeAll(() => { ref.IdentityPoolId = poolId; ref.IdentityId = identityId; });

  // v2 signs the path as sent, `.` and `..` segments kept; v3 and botocore sign it with them resolved.
  it.each(['.', '..'])('signs and syncs a dataset named %j', async (name) => {
    const dotted = { ...ref, DatasetName: name };
    const first = await sync.listRecords(dotted).promise();
    expect(first).toMatchObject({ Count: 0, DatasetExists: false });
    await sync.updateRecords({
      ...dotted, SyncSessionToken: first.SyncSessionToken ?? '', RecordPatches: [{ Op: 'replace', Key: 'k', Value: name, SyncCount: 0 }],
    }).promise();
    const described = await sync.describeDataset(dotted).promise();
    expect(described.Dataset).toMatchObject({ DatasetName: name, NumRecords: 1 });
  });

  it('ListRecords on a new dataset, UpdateRecords with its token, ListRecords again', async () => {
    const first = await sync.listRecords({ ...ref, LastSyncCount: 0 }).promise();
    expect(first).toMatchObject({ Records: [], Count: 0, DatasetSyncCount: 0, DatasetExists: false });
    expect(first.SyncSessionToken).toBeTruthy();

    const when = new Date(1_704_164_645_678);
    const updated = await sync.updateRecords({
      ...ref, SyncSessionToken: first.SyncSessionToken ?? '', DeviceId: 'device-1', ClientContext: 'ctx',
      RecordPatches: [
        { Op: 'replace', Key: 'name', Value: 'v1 ü', SyncCount: 0, DeviceLastModifiedDate: when },
        { Op: 'replace', Key: 'empty', Value: '', SyncCount: 0 },
      ],
    }).promise();
    expect(updated.Records?.map((r) => [r.Key, r.Value, r.SyncCount])).toEqual([['name', 'v1 ü', 1], ['empty', '', 1]]);
    expect(updated.Records?.[0]?.DeviceLastModifiedDate?.getTime()).toBe(when.getTime());
    expect(updated.Records?.[0]?.LastModifiedDate).toBeInstanceOf(Date);

    const second = await sync.listRecords({ ...ref, LastSyncCount: 0, MaxResults: 1024 }).promise();
    expect(second).toMatchObject({ Count: 2, DatasetSyncCount: 1, DatasetExists: true });
    expect(second.Records?.map((r) => r.Key).sort()).toEqual(['empty', 'name']);
  });

  it('a stale SyncCount → err.code ResourceConflictException, statusCode 409, not retryable', async () => {
    const listed = await sync.listRecords({ ...ref }).promise();
    const err = await v2Error(sync.updateRecords({
      ...ref, SyncSessionToken: listed.SyncSessionToken ?? '',
      RecordPatches: [{ Op: 'replace', Key: 'name', Value: 'stale', SyncCount: 0 }],
    }).promise());
    expect(err).toMatchObject({ code: 'ResourceConflictException', statusCode: 409, retryable: false });
    expect(err.message).toBe('Current SyncCount for: name is: 1 not: 0');
    expect(err.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('removes a record (Op remove, Value "" as amazon-cognito-js sends) and lists its tombstone', async () => {
    const listed = await sync.listRecords({ ...ref }).promise();
    await sync.updateRecords({
      ...ref, SyncSessionToken: listed.SyncSessionToken ?? '',
      RecordPatches: [{ Op: 'remove', Key: 'empty', Value: '', SyncCount: 1, DeviceLastModifiedDate: new Date() }],
    }).promise();
    const delta = await sync.listRecords({ ...ref, LastSyncCount: 1 }).promise();
    expect(delta.Records?.map((r) => [r.Key, r.Value, r.SyncCount])).toEqual([['empty', undefined, 2]]);
  });

  it('other errors keep their code and status: InvalidParameter 400, NotAuthorized 403, ResourceNotFound 404', async () => {
    const badName = await v2Error(sync.listRecords({ ...ref, DatasetName: 'has space' }).promise());
    expect(badName).toMatchObject({ code: 'InvalidParameterException', statusCode: 400 });
    const badToken = await v2Error(sync.updateRecords({ ...ref, SyncSessionToken: 'forged', RecordPatches: [] }).promise());
    expect(badToken).toMatchObject({ code: 'InvalidParameterException', statusCode: 400 });
    const unknownIdentity = await v2Error(sync.listRecords({ ...ref, IdentityId: 'us-east-1:00000000-0000-0000-0000-000000000000' }).promise());
    expect(unknownIdentity).toMatchObject({ code: 'NotAuthorizedException', statusCode: 403 });
    const noDataset = await v2Error(sync.describeDataset({ ...ref, DatasetName: 'never' }).promise());
    expect(noDataset).toMatchObject({ code: 'ResourceNotFoundException', statusCode: 404 });

    const wrongSecret = new AWS.CognitoSync({
      endpoint: t.endpoint, region: t.region, maxRetries: 0,
      credentials: new AWS.Credentials(t.credentials.accessKeyId, 'wrong'),
    });
    expect(await v2Error(wrongSecret.listRecords({ ...ref }).promise())).toMatchObject({ code: 'InvalidSignatureException', statusCode: 403 });
  });

  it('ListDatasets, DescribeDataset, DeleteDataset; BulkPublish-style empty bodies ({} from v2)', async () => {
    const datasets = await sync.listDatasets({ IdentityPoolId: poolId, IdentityId: identityId, MaxResults: 64 }).promise();
    expect(datasets.Datasets?.map((d) => d.DatasetName)).toContain('v2_profile');
    const described = await sync.describeDataset({ ...ref }).promise();
    expect(described.Dataset?.CreationDate).toBeInstanceOf(Date);
    const deleted = await sync.deleteDataset({ ...ref }).promise();
    expect(deleted.Dataset?.DatasetName).toBe('v2_profile');
    const after = await sync.listRecords({ ...ref, LastSyncCount: 1 }).promise();
    expect(after).toMatchObject({ DatasetExists: false, DatasetDeletedAfterRequestedSyncCount: true });

    await sync.setIdentityPoolConfiguration({
      IdentityPoolId: poolId,
      CognitoStreams: { StreamName: 's', RoleArn: 'arn:aws:iam::123456789012:role/r', StreamingStatus: 'ENABLED' },
    }).promise();
    await expect(sync.bulkPublish({ IdentityPoolId: poolId }).promise()).resolves.toEqual({ IdentityPoolId: poolId });
    await expect(sync.getBulkPublishDetails({ IdentityPoolId: poolId }).promise()).resolves.toMatchObject({ IdentityPoolId: poolId });
  });
});
