import { beforeAll, describe, expect, it } from 'vitest';
import {
  DeleteDatasetCommand, DescribeDatasetCommand, DescribeIdentityUsageCommand, ListDatasetsCommand, ListRecordsCommand,
  SubscribeToDatasetCommand, UpdateRecordsCommand, type CognitoSyncClient, type RecordPatch,
} from '@aws-sdk/client-cognito-sync';
import { GetIdCommand } from '@aws-sdk/client-cognito-identity';
import { clients, poolWithIdentity, startServer, type TestServer } from '../helpers/server.js';
import { sharedServer } from '../helpers/shared-server.js';
import { expectError, put, write, type DatasetRef } from './sync-helpers.js';

/**
 * Constraint edges of the model (one under / at / over; InvalidParameterException naming the member) and the
 * Cognito Sync quotas (LimitExceededException, status 400, nothing written).
 */

const MAX_VALUE = 1_048_575;
const MB = 1_048_576;

const t = sharedServer();
let sync: CognitoSyncClient;
let poolId: string;
let identityId: string;
let counter = 0;

beforeAll(async () => {
  sync = clients(t).sync;
  ({ poolId, identityId } = await poolWithIdentity(t, 'limits_pool'));
});

const fresh = (): DatasetRef => ({ poolId, identityId, dataset: `ds_${++counter}` });
const listRecords = (r: DatasetRef) =>
  sync.send(new ListRecordsCommand({ IdentityPoolId: r.poolId, IdentityId: r.identityId, DatasetName: r.dataset }));
const describe_ = (r: DatasetRef, client = sync) =>
  client.send(new DescribeDatasetCommand({ IdentityPoolId: r.poolId, IdentityId: r.identityId, DatasetName: r.dataset }));

async function newIdentity(s: TestServer = t, pool = poolId): Promise<string> {
  return (await clients(s).identity.send(new GetIdCommand({ IdentityPoolId: pool }))).IdentityId ?? '';
}

/** UpdateRecords with a token from ListRecords, failing as asked; then the dataset must be unchanged. */
async function refusedAndUnchanged(r: DatasetRef, patches: RecordPatch[], name: string, status: number, message: string | RegExp) {
  const before = await listRecords(r);
  await expectError(write(sync, r, patches), name, status, message);
  const after = await listRecords(r);
  expect(after.DatasetSyncCount).toBe(before.DatasetSyncCount);
  expect(after.DatasetExists).toBe(before.DatasetExists);
  expect(after.Records).toEqual(before.Records);
}

const tooLong = (member: string, max: number) =>
  `at '${member}' failed to satisfy constraint: Member must have length less than or equal to ${max}`;
const pattern = (member: string) => `at '${member}' failed to satisfy constraint: Member must satisfy regular expression pattern`;

describe('validations', () => {
  describe('DatasetName', () => {
    it('accepts 128 characters and refuses 129', async () => {
      const ok = { poolId, identityId, dataset: 'n'.repeat(128) };
      await write(sync, ok, [put('k', 'v')]);
      expect((await describe_(ok)).Dataset?.DatasetName).toBe(ok.dataset);
      const over = { poolId, identityId, dataset: 'n'.repeat(129) };
      const err = await expectError(listRecords(over), 'InvalidParameterException', 400, tooLong('datasetName', 128));
      expect(err.message).toMatch(/^1 validation error detected: Value 'n{129}' at 'datasetName'/);
      await expectError(describe_(over), 'InvalidParameterException', 400, tooLong('datasetName', 128));
    });

    it.each([['a space', 'my data'], ['an exclamation mark', 'hi!'], ['a slash', 'a/b'], ['a non-ASCII letter', 'daten_ü']])(
      'refuses %s', async (_what, dataset) => {
        await expectError(listRecords({ poolId, identityId, dataset }), 'InvalidParameterException', 400,
          `Value '${dataset}' ${pattern('datasetName')}: [a-zA-Z0-9_.:-]+`);
      });

    it("accepts ':', '.', '_' and '-'", async () => {
      const r = { poolId, identityId, dataset: 'My_Data-Set.v2:beta' };
      await write(sync, r, [put('k', 'v')]);
      expect((await describe_(r)).Dataset?.DatasetName).toBe(r.dataset);
    });
  });

  describe('RecordKey and RecordValue', () => {
    it('accepts a key of 1,024 characters and refuses 1,025', async () => {
      const r = fresh();
      const out = await write(sync, r, [put('k'.repeat(1024), 'v')]);
      expect(out.Records?.[0]?.Key).toHaveLength(1024);
      await refusedAndUnchanged(r, [put('x'.repeat(1025), 'v')], 'InvalidParameterException', 400,
        tooLong('recordPatches.1.member.key', 1024));
    });

    it('refuses an empty key', async () => {
      await refusedAndUnchanged(fresh(), [put('ok', 'v'), put('', 'v')], 'InvalidParameterException', 400,
        "Value '' at 'recordPatches.2.member.key' failed to satisfy constraint: Member must have length greater than or equal to 1");
    });

    it('accepts a value of 1,048,575 characters and refuses 1,048,576 (dataset limit raised out of the way)', async () => {
      const big = await startServer({ config: { limits: { maxDatasetBytes: 8 * MB } } });
      try {
        const client = clients(big).sync;
        const { poolId: pool, identityId: id } = await poolWithIdentity(big);
        const r = { poolId: pool, identityId: id, dataset: 'big' };
        const ok = await write(client, r, [put('k', 'x'.repeat(MAX_VALUE))]);
        expect(ok.Records?.[0]?.Value).toHaveLength(MAX_VALUE);
        const err = await expectError(write(client, r, [put('k2', 'y'.repeat(MAX_VALUE + 1))]), 'InvalidParameterException', 400,
          tooLong('recordPatches.1.member.value', MAX_VALUE));
        expect(err.message.length).toBeLessThan(1000);
        expect((await describe_(r, client)).Dataset).toMatchObject({ NumRecords: 1, DataStorage: 1 + MAX_VALUE });
      } finally {
        await big.close();
      }
    });
  });

  describe('DeviceId', () => {
    it('UpdateRecords accepts a DeviceId of 256 characters and refuses 257', async () => {
      const r = fresh();
      const send = (DeviceId: string) => listRecords(r).then((l) => sync.send(new UpdateRecordsCommand({
        IdentityPoolId: poolId, IdentityId: identityId, DatasetName: r.dataset, DeviceId,
        SyncSessionToken: l.SyncSessionToken, RecordPatches: [put('k', DeviceId.length.toString())],
      })));
      await expectError(send('d'.repeat(257)), 'InvalidParameterException', 400, tooLong('deviceId', 256));
      expect((await send('d'.repeat(256))).Records?.[0]?.Value).toBe('256');
    });

    it('the SubscribeToDataset path label is checked against 1–256 before the credential class', async () => {
      const r = fresh();
      await write(sync, r, [put('k', 'v')]);
      const subscribe = (DeviceId: string) => sync.send(new SubscribeToDatasetCommand({
        IdentityPoolId: poolId, IdentityId: identityId, DatasetName: r.dataset, DeviceId,
      }));
      await expectError(subscribe('d'.repeat(257)), 'InvalidParameterException', 400, tooLong('deviceId', 256));
      // 256 passes validation; developer credentials are then refused for this identity-only operation.
      await expectError(subscribe('d'.repeat(256)), 'NotAuthorizedException', 403);
    });
  });

  describe('IdentityPoolId and IdentityId', () => {
    const GOOD_POOL = 'us-east-1:00000000-0000-4000-8000-000000000000';
    const cases: [string, string, string, string][] = [
      ['an upper-case pool GUID', 'us-east-1:ABCDEF00-0000-4000-8000-000000000000', 'us-east-1:0a', 'identityPoolId'],
      ['a pool ID without a colon', 'us-east-1-00000000', 'us-east-1:0a', 'identityPoolId'],
      ['an upper-case identity GUID', GOOD_POOL, 'us-east-1:ABCDEF00-0000-4000-8000-000000000000', 'identityId'],
      ['an identity ID without a colon', GOOD_POOL, 'us-east-1_abc', 'identityId'],
      ['an identity ID with a space', GOOD_POOL, 'us east-1:0a', 'identityId'],
    ];
    it.each(cases)('refuses %s with InvalidParameterException', async (_what, pool, id, member) => {
      await expectError(listRecords({ poolId: pool, identityId: id, dataset: 'd' }), 'InvalidParameterException', 400, pattern(member));
      await expectError(sync.send(new DescribeIdentityUsageCommand({ IdentityPoolId: pool, IdentityId: id })),
        'InvalidParameterException', 400, pattern(member));
    });

    it('refuses IDs longer than 55 characters', async () => {
      const long = `us-east-1:${'0'.repeat(46)}`;
      expect(long).toHaveLength(56);
      await expectError(sync.send(new ListDatasetsCommand({ IdentityPoolId: long, IdentityId: identityId })),
        'InvalidParameterException', 400, tooLong('identityPoolId', 55));
      await expectError(sync.send(new ListDatasetsCommand({ IdentityPoolId: poolId, IdentityId: long })),
        'InvalidParameterException', 400, tooLong('identityId', 55));
    });

    it('reports several violations together', async () => {
      await expectError(listRecords({ poolId: 'BAD', identityId: 'BAD', dataset: 'a b' }), 'InvalidParameterException', 400,
        /^3 validation errors detected: .*'identityPoolId'.*; .*'identityId'.*; .*'datasetName'/);
    });
  });

  describe('RecordPatches', () => {
    it.each([['update'], ['REPLACE'], ['']])('refuses Op %j', async (op) => {
      await refusedAndUnchanged(fresh(), [{ Op: op as never, Key: 'k', Value: 'v', SyncCount: 0 }], 'InvalidParameterException', 400,
        `Value '${op}' at 'recordPatches.1.member.op' failed to satisfy constraint: Member must satisfy enum value set: [replace, remove]`);
    });

    it('refuses a missing Op or SyncCount', async () => {
      await refusedAndUnchanged(fresh(), [{ Key: 'k', Value: 'v', SyncCount: 0 } as RecordPatch], 'InvalidParameterException', 400,
        "Value null at 'recordPatches.1.member.op' failed to satisfy constraint: Member must not be null");
      await refusedAndUnchanged(fresh(), [{ Op: 'replace', Key: 'k', Value: 'v' } as RecordPatch], 'InvalidParameterException', 400,
        "Value null at 'recordPatches.1.member.syncCount'");
    });

    it('refuses a negative SyncCount', async () => {
      const r = fresh();
      await write(sync, r, [put('k', 'v')]);
      await refusedAndUnchanged(r, [put('other', 'v'), put('k', 'w', -1)], 'InvalidParameterException', 400,
        "Value '-1' at 'recordPatches.2.member.syncCount' failed to satisfy constraint: Member must have value greater than or equal to 0");
    });

    it('refuses the same key twice in one request', async () => {
      const r = fresh();
      await refusedAndUnchanged(r, [put('k', 'one'), put('j', 'x'), put('k', 'two')], 'InvalidParameterException', 400, "'k'");
      await refusedAndUnchanged(r, [put('k', 'one'), { Op: 'remove', Key: 'k', SyncCount: 0 }], 'InvalidParameterException', 400, 'Duplicate key');
    });
  });
});

describe('quotas', () => {
  it('20 datasets per identity: the 20th is created, the 21st refused, and after a deletion a new one is allowed', async () => {
    const id = await newIdentity();
    const r = (i: number): DatasetRef => ({ poolId, identityId: id, dataset: `set_${i}` });
    for (let i = 1; i <= 20; i++) await write(sync, r(i), [put('k', 'v')]);
    expect((await sync.send(new ListDatasetsCommand({ IdentityPoolId: poolId, IdentityId: id }))).Count).toBe(20);
    const err = await expectError(write(sync, r(21), [put('k', 'v')]), 'LimitExceededException', 400, /maximum number of datasets \(20\)/);
    expect(err.name).toBe('LimitExceededException');
    await expectError(describe_(r(21)), 'ResourceNotFoundException', 404);
    expect((await listRecords(r(21))).DatasetExists).toBe(false);
    // Existing datasets still take writes.
    await write(sync, r(20), [put('k', 'w', 1)]);
    await sync.send(new DeleteDatasetCommand({ IdentityPoolId: poolId, IdentityId: id, DatasetName: 'set_3' }));
    await write(sync, r(21), [put('k', 'v')]);
    await expectError(write(sync, r(3), [put('k', 'v', 0)]), 'LimitExceededException', 400);
    const usage = await sync.send(new DescribeIdentityUsageCommand({ IdentityPoolId: poolId, IdentityId: id }));
    expect(usage.IdentityUsage?.DatasetCount).toBe(20);
  });

  it('2,048 patches per UpdateRecords (twice the record quota): 2,048 are accepted, 2,049 refused with nothing written', async () => {
    const r = fresh();
    const removes = (n: number, prefix: string): RecordPatch[] =>
      Array.from({ length: n }, (_, i) => ({ Op: 'remove', Key: `${prefix}${i}`, SyncCount: 0 }));
    const replaces = Array.from({ length: 1024 }, (_, i) => put(`live${i}`, 'v'));
    await write(sync, r, [...replaces, ...removes(1024, 'gone')]);
    expect((await listRecords(r)).Records).toHaveLength(2048);
    await refusedAndUnchanged(r, removes(2049, 'more'), 'LimitExceededException', 400,
      'UpdateRecords carries 2049 record patches; the maximum is 2048: send the others in a further request');
  });

  it('1,024 records per dataset: 1,023 then one more are accepted, the 1,025th is refused', async () => {
    const r = fresh();
    const patches = Array.from({ length: 1023 }, (_, i) => put(`r${i}`, 'v'));
    await write(sync, r, patches);
    await write(sync, r, [put('r1023', 'v')]);
    expect((await describe_(r)).Dataset?.NumRecords).toBe(1024);
    await refusedAndUnchanged(r, [put('r1024', 'v')], 'LimitExceededException', 400, /1025 records; the maximum is 1024/);
    // Replacing and removing need no room; a removed record's place (its tombstone counts nothing) can be reused.
    await write(sync, r, [put('r0', 'changed', 1), { Op: 'remove', Key: 'r1', SyncCount: 1 }]);
    await write(sync, r, [put('r1024', 'v')]);
    expect((await describe_(r)).Dataset?.NumRecords).toBe(1024);
    await refusedAndUnchanged(r, [put('r1', 'back', 3)], 'LimitExceededException', 400, /maximum is 1024/);
  });

  it('one request of 1,025 records is refused outright', async () => {
    const r = fresh();
    await refusedAndUnchanged(r, Array.from({ length: 1025 }, (_, i) => put(`r${i}`, '')), 'LimitExceededException', 400, /1025 records/);
    await expectError(describe_(r), 'ResourceNotFoundException', 404);
  });

  it('1 MB (1,048,576 bytes of keys and values) per dataset: at the limit ok, one byte over refused', async () => {
    const r = fresh();
    await write(sync, r, [put('k', 'x'.repeat(MB - 1 - 2)), put('a', '')]);
    expect((await describe_(r)).Dataset?.DataStorage).toBe(MB - 1);
    await write(sync, r, [put('b', '')]);
    expect((await describe_(r)).Dataset?.DataStorage).toBe(MB);
    await refusedAndUnchanged(r, [put('c', '')], 'LimitExceededException', 400, `would hold ${MB + 1} bytes; the maximum is ${MB}`);
    await refusedAndUnchanged(r, [put('a', 'x', 1)], 'LimitExceededException', 400, /bytes/);
    // Shrinking is always allowed, and makes room again.
    await write(sync, r, [{ Op: 'remove', Key: 'b', SyncCount: 2 }, put('a', 'x', 1)]);
    expect((await describe_(r)).Dataset?.DataStorage).toBe(MB);
  });

  it('counts UTF-8 bytes, not characters', async () => {
    const r = fresh();
    // 524,288 'é' are 1,048,576 bytes but only half as many characters; with the key, one byte over.
    await refusedAndUnchanged(r, [put('k', 'é'.repeat(MB / 2))], 'LimitExceededException', 400, `${MB + 1} bytes`);
    await write(sync, r, [put('k', 'é'.repeat(MB / 2 - 1) + 'e')]);
    expect((await describe_(r)).Dataset?.DataStorage).toBe(MB);
  });

  it('leaves the session token usable after a refusal', async () => {
    const r = fresh();
    const { SyncSessionToken } = await listRecords(r);
    const send = (patches: RecordPatch[]) => sync.send(new UpdateRecordsCommand({
      IdentityPoolId: poolId, IdentityId: identityId, DatasetName: r.dataset, SyncSessionToken, RecordPatches: patches,
    }));
    await expectError(send([put('kk', 'x'.repeat(MAX_VALUE))]), 'LimitExceededException', 400, `${MB + 1} bytes`);
    expect((await send([put('k', 'small')])).Records?.[0]?.SyncCount).toBe(1);
  });
});

describe('configured limits', () => {
  const s = sharedServer({ config: { limits: { maxRecordsPerDataset: 5, maxDatasetsPerIdentity: 2, maxDatasetBytes: 100 } } });
  let client: CognitoSyncClient;
  let pool: string;

  beforeAll(async () => {
    client = clients(s).sync;
    ({ poolId: pool } = await poolWithIdentity(s));
  });

  const at = async (dataset: string) => ({ poolId: pool, identityId: await newIdentity(s, pool), dataset });

  it('maxRecordsPerDataset 5: five records ok, the sixth refused', async () => {
    const r = await at('five');
    await write(client, r, Array.from({ length: 5 }, (_, i) => put(`k${i}`, '')));
    await expectError(write(client, r, [put('k5', '')]), 'LimitExceededException', 400, /6 records; the maximum is 5/);
    expect((await describe_(r, client)).Dataset?.NumRecords).toBe(5);
  });

  it('maxDatasetsPerIdentity 2: the third dataset is refused', async () => {
    const r = await at('one');
    await write(client, r, [put('k', 'v')]);
    await write(client, { ...r, dataset: 'two' }, [put('k', 'v')]);
    await expectError(write(client, { ...r, dataset: 'three' }, [put('k', 'v')]), 'LimitExceededException', 400, /\(2\)/);
  });

  it('maxDatasetBytes 100: 100 bytes ok, 101 refused', async () => {
    const r = await at('bytes');
    await write(client, r, [put('k', 'v'.repeat(99))]);
    await expectError(write(client, r, [put('x', '')]), 'LimitExceededException', 400, /101 bytes; the maximum is 100/);
    expect((await describe_(r, client)).Dataset?.DataStorage).toBe(100);
  });
});
