import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DeleteDatasetCommand, DescribeDatasetCommand, ListRecordsCommand, UpdateRecordsCommand, type CognitoSyncClient,
} from '@aws-sdk/client-cognito-sync';
import { DeleteIdentitiesCommand, GetIdCommand } from '@aws-sdk/client-cognito-identity';
import { clients, poolWithIdentity, startServer, type TestServer } from '../helpers/server.js';
import { expectError, put, write, type DatasetRef } from './sync-helpers.js';

let t: TestServer;
let sync: CognitoSyncClient;
let poolId: string;
let identityId: string;
let counter = 0;
const fresh = (): DatasetRef => ({ poolId, identityId, dataset: `ds_${++counter}` });
const list = (ref: DatasetRef, extra: { LastSyncCount?: number; MaxResults?: number; NextToken?: string; SyncSessionToken?: string } = {}) =>
  sync.send(new ListRecordsCommand({ IdentityPoolId: ref.poolId, IdentityId: ref.identityId, DatasetName: ref.dataset, ...extra }));

beforeAll(async () => {
  t = await startServer();
  sync = clients(t).sync;
  ({ poolId, identityId } = await poolWithIdentity(t));
});
afterAll(() => t.close());

describe('ListRecords and UpdateRecords: functionality', () => {
  it('answers a dataset that never existed with DatasetExists false and a session token', async () => {
    const out = await list(fresh());
    expect(out).toMatchObject({ Records: [], Count: 0, DatasetSyncCount: 0, DatasetExists: false, DatasetDeletedAfterRequestedSyncCount: false });
    expect(out.SyncSessionToken).toBeTruthy();
  });

  it('creates the dataset on first write; each UpdateRecords raises the count by one for every record it writes', async () => {
    const ref = fresh();
    const first = await write(sync, ref, [put('a', '1'), put('b', '2')]);
    expect(first.Records?.map((r) => [r.Key, r.Value, r.SyncCount])).toEqual([['a', '1', 1], ['b', '2', 1]]);
    expect(first.Records?.[0]?.LastModifiedBy).toBe('123456789012');
    expect(first.Records?.[0]?.LastModifiedDate).toBeInstanceOf(Date);
    const second = await write(sync, ref, [put('a', '10', 1)]);
    expect(second.Records?.map((r) => [r.Key, r.SyncCount])).toEqual([['a', 2]]);
    const all = await list(ref);
    expect(all.DatasetSyncCount).toBe(2);
    expect(all.DatasetExists).toBe(true);
    expect(all.LastModifiedBy).toBe('123456789012');
    expect(all.Records?.map((r) => [r.Key, r.Value, r.SyncCount])).toEqual([['b', '2', 1], ['a', '10', 2]]);
  });

  it('keeps DeviceLastModifiedDate as sent (fractional seconds)', async () => {
    const ref = fresh();
    const when = new Date(1_700_000_000_123);
    const out = await write(sync, ref, [{ Op: 'replace', Key: 'k', Value: 'v', SyncCount: 0, DeviceLastModifiedDate: when }]);
    expect(out.Records?.[0]?.DeviceLastModifiedDate?.getTime()).toBe(1_700_000_000_123);
  });

  it('returns only records above lastSyncCount (exclusive), tombstones included', async () => {
    const ref = fresh();
    await write(sync, ref, [put('a', '1'), put('b', '2')]);
    await write(sync, ref, [{ Op: 'remove', Key: 'a', SyncCount: 1 }]);
    await write(sync, ref, [put('c', '3')]);
    const delta = await list(ref, { LastSyncCount: 1 });
    expect(delta.Records?.map((r) => [r.Key, r.Value, r.SyncCount])).toEqual([['a', undefined, 2], ['c', '3', 3]]);
    const fromZero = await list(ref, { LastSyncCount: 0 });
    expect(fromZero.Records?.map((r) => r.Key)).toEqual(['b', 'a', 'c']);
    expect(await list(ref, { LastSyncCount: 3 })).toMatchObject({ Records: [], DatasetSyncCount: 3 });
  });

  it('refuses a stale record count with 409 and AWS message, writing nothing (all or nothing)', async () => {
    const ref = fresh();
    await write(sync, ref, [put('score', '5')]);
    await write(sync, ref, [put('score', '6', 1)]);
    await expectError(write(sync, ref, [put('other', 'x'), put('score', '7', 1)]), 'ResourceConflictException', 409,
      'Current SyncCount for: score is: 2 not: 1');
    const all = await list(ref);
    expect(all.DatasetSyncCount).toBe(2);
    expect(all.Records?.map((r) => r.Key)).toEqual(['score']);
  });

  it('a tombstone keeps its count: re-adding a removed key needs that count', async () => {
    const ref = fresh();
    await write(sync, ref, [put('k', 'v')]);
    await write(sync, ref, [{ Op: 'remove', Key: 'k', SyncCount: 1, Value: '' }]);
    await expectError(write(sync, ref, [put('k', 'again', 0)]), 'ResourceConflictException', 409, 'is: 2 not: 0');
    const out = await write(sync, ref, [put('k', 'again', 2)]);
    expect(out.Records?.[0]).toMatchObject({ Key: 'k', Value: 'again', SyncCount: 3 });
  });

  it('answers "No such SyncCount" for a lastSyncCount beyond the dataset', async () => {
    const ref = fresh();
    await write(sync, ref, [put('a', '1')]);
    await expectError(list(ref, { LastSyncCount: 9 }), 'InvalidParameterException', 400, 'No such SyncCount: 9 exists for this Dataset');
  });
});

describe('sync session tokens', () => {
  it('a token is consumed by a successful UpdateRecords only', async () => {
    const ref = fresh();
    const listed = await list(ref);
    const token = listed.SyncSessionToken ?? '';
    const update = (patches = [put('a', '1')]) => sync.send(new UpdateRecordsCommand({
      IdentityPoolId: poolId, IdentityId: identityId, DatasetName: ref.dataset, SyncSessionToken: token, RecordPatches: patches,
    }));
    await expectError(update([put('a', '1', 5)]), 'ResourceConflictException', 409);
    const again = await list(ref, { SyncSessionToken: token });
    expect(again.SyncSessionToken).toBe(token);
    await update();
    await expectError(update([put('b', '1')]), 'InvalidParameterException', 400, 'SyncSessionToken not valid for these inputs');
    await expectError(list(ref, { SyncSessionToken: token }), 'InvalidParameterException', 400, 'SyncSessionToken not valid');
  });

  it('refuses a token of another dataset, a forged token and a missing token', async () => {
    const a = fresh();
    const b = fresh();
    const { SyncSessionToken } = await list(a);
    const send = (tokenValue: string | undefined) => sync.send(new UpdateRecordsCommand({
      IdentityPoolId: poolId, IdentityId: identityId, DatasetName: b.dataset, SyncSessionToken: tokenValue, RecordPatches: [put('x', '1')],
    }));
    await expectError(send(SyncSessionToken), 'InvalidParameterException', 400, 'SyncSessionToken not valid for these inputs');
    await expectError(send(`${SyncSessionToken}x`), 'InvalidParameterException', 400, 'SyncSessionToken not valid');
    await expectError(send('garbage'), 'InvalidParameterException', 400, 'SyncSessionToken not valid');
    await expectError(send(undefined), 'InvalidParameterException', 400, "Value null at 'syncSessionToken' failed to satisfy constraint: Member must not be null");
  });
});

describe('DeleteDataset then re-create', () => {
  it('reports the deletion to clients that synced before and continues the count on re-create', async () => {
    const ref = fresh();
    await write(sync, ref, [put('a', '1'), put('b', '2')]);
    await write(sync, ref, [put('a', '3', 1)]);
    const del = await sync.send(new DeleteDatasetCommand({ IdentityPoolId: poolId, IdentityId: identityId, DatasetName: ref.dataset }));
    expect(del.Dataset).toMatchObject({ DatasetName: ref.dataset, NumRecords: 2 });
    await expectError(sync.send(new DescribeDatasetCommand({ IdentityPoolId: poolId, IdentityId: identityId, DatasetName: ref.dataset })), 'ResourceNotFoundException', 404);
    await expectError(sync.send(new DeleteDatasetCommand({ IdentityPoolId: poolId, IdentityId: identityId, DatasetName: ref.dataset })), 'ResourceNotFoundException', 404);
    expect(await list(ref, { LastSyncCount: 2 })).toMatchObject({ DatasetExists: false, DatasetDeletedAfterRequestedSyncCount: true, Records: [], DatasetSyncCount: 0 });
    expect(await list(ref, { LastSyncCount: 0 })).toMatchObject({ DatasetExists: false, DatasetDeletedAfterRequestedSyncCount: false, Records: [] });
    // A client that kept its data re-pushes everything with count 0 (iOS resetSyncCount): no conflict.
    const re = await write(sync, ref, [put('a', '3'), put('b', '2')]);
    expect(re.Records?.map((r) => r.SyncCount)).toEqual([3, 3]);
    expect(await list(ref, { LastSyncCount: 2 })).toMatchObject({ DatasetExists: true, DatasetDeletedAfterRequestedSyncCount: true, DatasetSyncCount: 3 });
    expect(await list(ref, { LastSyncCount: 3 })).toMatchObject({ DatasetExists: true, DatasetDeletedAfterRequestedSyncCount: false, Records: [] });
  });
});

describe('a deletion between a device\'s ListRecords and its UpdateRecords', () => {
  const update = (ref: DatasetRef, token: string | undefined, patches: ReturnType<typeof put>[]) =>
    sync.send(new UpdateRecordsCommand({
      IdentityPoolId: poolId, IdentityId: identityId, DatasetName: ref.dataset, SyncSessionToken: token, RecordPatches: patches,
    }));
  const remove = (ref: DatasetRef) =>
    sync.send(new DeleteDatasetCommand({ IdentityPoolId: poolId, IdentityId: identityId, DatasetName: ref.dataset }));

  // Written back, the push would re-create the dataset at count 2 = the device's 1 + 1, which every Sync Manager reads
  // as "nothing else happened": the device would keep the deleted records for good.
  it('refuses the write with a 409, and the device\'s next listing reports the deletion', async () => {
    const ref = fresh();
    await write(sync, ref, [put('old1', 'a'), put('old2', 'b')]);
    const listed = await list(ref, { LastSyncCount: 1 });
    await remove(ref);
    await expectError(update(ref, listed.SyncSessionToken, [put('new', 'c')]), 'ResourceConflictException', 409, 'deleted');
    // iOS lists again with the token it holds: it gets a new one, which writes.
    const again = await list(ref, { LastSyncCount: 1, SyncSessionToken: listed.SyncSessionToken! });
    expect(again).toMatchObject({ DatasetExists: false, DatasetDeletedAfterRequestedSyncCount: true, Records: [] });
    expect(again.SyncSessionToken).not.toBe(listed.SyncSessionToken);
    const pushed = await update(ref, again.SyncSessionToken, [put('new', 'c')]);
    expect(pushed.Records?.map((r) => [r.Key, r.SyncCount])).toEqual([['new', 2]]);
  });

  it('refuses it too when another device has re-created the dataset meanwhile', async () => {
    const ref = fresh();
    await write(sync, ref, [put('old1', 'a')]);
    const listed = await list(ref, { LastSyncCount: 1 });
    await remove(ref);
    await write(sync, ref, [put('other', 'x')]);
    await expectError(update(ref, listed.SyncSessionToken, [put('new', 'c')]), 'ResourceConflictException', 409, 'deleted');
    expect(await list(ref, { LastSyncCount: 1 })).toMatchObject({
      DatasetExists: true, DatasetDeletedAfterRequestedSyncCount: true, DatasetSyncCount: 2,
    });
  });

  it('leaves sessions listed after the deletion, and of datasets never deleted, alone', async () => {
    const ref = fresh();
    const before = await list(ref);
    await update(ref, before.SyncSessionToken, [put('k', 'v')]);
    await remove(ref);
    const after = await list(ref);
    expect(after.SyncSessionToken).toBeTruthy();
    expect((await update(ref, after.SyncSessionToken, [put('k', 'v2')])).Records?.[0]?.SyncCount).toBe(2);
  });
});

describe('pagination', () => {
  it('pages with maxResults never skip nor repeat a record, even with writes between pages', async () => {
    const ref = fresh();
    const patches = Array.from({ length: 25 }, (_, i) => put(`k${String(i).padStart(2, '0')}`, `v${i}`));
    await write(sync, ref, patches.slice(0, 10));
    await write(sync, ref, patches.slice(10, 25));
    const seen: string[] = [];
    let next: string | undefined;
    let pages = 0;
    do {
      const page = await list(ref, { MaxResults: 7, ...(next ? { NextToken: next } : {}) });
      expect(page.DatasetSyncCount).toBe(2);
      expect(page.Count).toBe(page.Records?.length);
      seen.push(...(page.Records ?? []).map((r) => r.Key ?? ''));
      next = page.NextToken;
      if (pages++ === 0) await write(sync, ref, [put('k00', 'changed', 1), put('zz', 'new')]);
    } while (next);
    expect(pages).toBe(4);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBeGreaterThanOrEqual(24);
    const after = await list(ref, { LastSyncCount: 2 });
    expect(after.Records?.map((r) => r.Key)).toEqual(['k00', 'zz']);
  });

  it('reports the first page\'s figures on every later page even when the dataset is deleted between pages', async () => {
    const ref = fresh();
    await write(sync, ref, Array.from({ length: 6 }, (_, i) => put(`k${i}`, `v${i}`)));
    const first = await list(ref, { MaxResults: 2 });
    expect(first).toMatchObject({ DatasetExists: true, DatasetSyncCount: 1, DatasetDeletedAfterRequestedSyncCount: false });
    await sync.send(new DeleteDatasetCommand({ IdentityPoolId: poolId, IdentityId: identityId, DatasetName: ref.dataset }));
    const second = await list(ref, { MaxResults: 2, NextToken: first.NextToken! });
    expect(second).toMatchObject({
      DatasetExists: true, DatasetSyncCount: 1, DatasetDeletedAfterRequestedSyncCount: false, Records: [],
    });
    expect(second.NextToken).toBeUndefined();
    // Android pushes with the last page's token: it must not write as if the listing had seen the deletion.
    expect(second.SyncSessionToken).toBe(first.SyncSessionToken);
    await expectError(sync.send(new UpdateRecordsCommand({
      IdentityPoolId: poolId, IdentityId: identityId, DatasetName: ref.dataset, SyncSessionToken: second.SyncSessionToken,
      RecordPatches: [put('mine', 'x')],
    })), 'ResourceConflictException', 409);
    // The device then holds count 1; its next sync is told of the deletion.
    expect(await list(ref, { LastSyncCount: 1 })).toMatchObject({
      DatasetExists: false, DatasetDeletedAfterRequestedSyncCount: true,
    });
  });

  it('a later page whose first-page session was used starts one that still knows the listing predates a deletion', async () => {
    const ref = fresh();
    await write(sync, ref, Array.from({ length: 3 }, (_, i) => put(`k${i}`, `v${i}`)));
    const first = await list(ref, { MaxResults: 1 });
    await sync.send(new UpdateRecordsCommand({
      IdentityPoolId: poolId, IdentityId: identityId, DatasetName: ref.dataset, SyncSessionToken: first.SyncSessionToken,
      RecordPatches: [put('k0', 'changed', 1)],
    }));
    await sync.send(new DeleteDatasetCommand({ IdentityPoolId: poolId, IdentityId: identityId, DatasetName: ref.dataset }));
    const second = await list(ref, { MaxResults: 1, NextToken: first.NextToken! });
    expect(second.SyncSessionToken).not.toBe(first.SyncSessionToken);
    await expectError(sync.send(new UpdateRecordsCommand({
      IdentityPoolId: poolId, IdentityId: identityId, DatasetName: ref.dataset, SyncSessionToken: second.SyncSessionToken,
      RecordPatches: [put('mine', 'x')],
    })), 'ResourceConflictException', 409);
  });

  it('returns the first page\'s SyncSessionToken on every later page, which then writes once (SPEC §4.1)', async () => {
    const ref = fresh();
    await write(sync, ref, Array.from({ length: 5 }, (_, i) => put(`k${i}`, `v${i}`)));
    const first = await list(ref, { MaxResults: 2 });
    const second = await list(ref, { MaxResults: 2, NextToken: first.NextToken! });
    const third = await list(ref, { MaxResults: 2, NextToken: second.NextToken! });
    expect(third.NextToken).toBeUndefined();
    expect(second.SyncSessionToken).toBe(first.SyncSessionToken);
    expect(third.SyncSessionToken).toBe(first.SyncSessionToken);
    const withToken = (patch: ReturnType<typeof put>, token: string | undefined) => sync.send(new UpdateRecordsCommand({
      IdentityPoolId: ref.poolId, IdentityId: ref.identityId, DatasetName: ref.dataset, SyncSessionToken: token,
      RecordPatches: [patch],
    }));
    await withToken(put('k0', 'changed', 1), third.SyncSessionToken);
    // Once that session is used, a page token still holding it starts a new session instead of failing.
    const again = await list(ref, { MaxResults: 2, NextToken: first.NextToken! });
    expect(again.SyncSessionToken).not.toBe(first.SyncSessionToken);
    await withToken(put('k1', 'changed', 1), again.SyncSessionToken);
  });

  it('refuses maxResults 0 and a malformed NextToken', async () => {
    const ref = fresh();
    await expectError(list(ref, { MaxResults: 0 }), 'InvalidParameterException', 400, 'maxResults');
    await expectError(list(ref, { NextToken: 'not-a-token' }), 'InvalidParameterException', 400, 'NextToken');
    // maxResults is a 32-bit integer: the largest one is a valid page size, one more is the caller's error.
    expect((await list(ref, { MaxResults: 2 ** 31 - 1 })).Count).toBe(0);
    await expectError(list(ref, { MaxResults: 2 ** 31 }), 'InvalidParameterException', 400, 'maxResults');
    await expectError(list(ref, { MaxResults: 3_000_000_000 }), 'InvalidParameterException', 400, 'maxResults');
  });

  it('refuses a NextToken that was altered, forged, or issued for another listing', async () => {
    const ref = fresh();
    await write(sync, ref, Array.from({ length: 3 }, (_, i) => put(`k${i}`, `v${i}`)));
    const first = await list(ref, { MaxResults: 1 });
    const token = first.NextToken!;
    const [payload = '', mac = ''] = token.split('.');
    const position = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    // A forged position claiming the dataset was deleted: a Sync Manager would purge its local copy on that flag.
    const forged = Buffer.from(JSON.stringify({ ...position, exists: false, deletedAfter: true })).toString('base64url');
    await expectError(list(ref, { MaxResults: 1, NextToken: `${forged}.${mac}` }), 'InvalidParameterException', 400, 'NextToken');
    await expectError(list(ref, { MaxResults: 1, NextToken: forged }), 'InvalidParameterException', 400, 'NextToken');
    // Another dataset, or the same dataset from another lastSyncCount, is another listing.
    await expectError(list(fresh(), { MaxResults: 1, NextToken: token }), 'InvalidParameterException', 400, 'NextToken');
    await expectError(list(ref, { MaxResults: 1, LastSyncCount: 1, NextToken: token }), 'InvalidParameterException', 400, 'NextToken');
    const second = await list(ref, { MaxResults: 1, NextToken: token });
    expect(second.Records?.map((r) => r.Key)).toEqual(['k1']);
    expect(second.DatasetExists).toBe(true);
  });
});

describe('racing writers', () => {
  it('of N writers with the same sync count exactly one wins', async () => {
    const ref = fresh();
    await write(sync, ref, [put('hot', 'start')]);
    const tokens = await Promise.all(Array.from({ length: 12 }, () => list(ref).then((r) => r.SyncSessionToken)));
    const results = await Promise.allSettled(tokens.map((token, i) => sync.send(new UpdateRecordsCommand({
      IdentityPoolId: poolId, IdentityId: identityId, DatasetName: ref.dataset, SyncSessionToken: token,
      RecordPatches: [put('hot', `writer ${i}`, 1)],
    }))));
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost.every((r) => (r.reason as Error).name === 'ResourceConflictException')).toBe(true);
    expect((await list(ref)).DatasetSyncCount).toBe(2);
  });
});

describe('UpdateRecords: the identity', () => {
  const UNKNOWN_POOL = 'us-east-1:00000000-0000-4000-8000-000000000000';
  const UNKNOWN_IDENTITY = 'us-east-1:11111111-1111-4111-8111-111111111111';
  const update = (ref: DatasetRef, token: string | undefined) => sync.send(new UpdateRecordsCommand({
    IdentityPoolId: ref.poolId, IdentityId: ref.identityId, DatasetName: ref.dataset, SyncSessionToken: token,
    RecordPatches: [put('k', 'v')],
  }));

  it('an identity deleted after its ListRecords: 404, and nothing is written', async () => {
    const { IdentityId } = await clients(t).identity.send(new GetIdCommand({ IdentityPoolId: poolId }));
    const ref = { poolId, identityId: IdentityId!, dataset: 'after_delete' };
    const { SyncSessionToken } = await list(ref);
    await clients(t).identity.send(new DeleteIdentitiesCommand({ IdentityIdsToDelete: [ref.identityId] }));
    await expectError(update(ref, SyncSessionToken), 'ResourceNotFoundException', 404, `Identity '${ref.identityId}' not found.`);
    expect(await t.services.store.getDataset(ref.identityId, ref.dataset)).toBeUndefined();
  });

  it('an unknown identity or pool is 404 before its token is looked at', async () => {
    const { SyncSessionToken } = await list(fresh());
    const ghost = { poolId, identityId: UNKNOWN_IDENTITY, dataset: 'ghost' };
    await expectError(update(ghost, SyncSessionToken), 'ResourceNotFoundException', 404, `Identity '${UNKNOWN_IDENTITY}' not found.`);
    await expectError(update(ghost, 'forged.token'), 'ResourceNotFoundException', 404, UNKNOWN_IDENTITY);
    await expectError(update({ ...ghost, poolId: UNKNOWN_POOL }, SyncSessionToken), 'ResourceNotFoundException', 404,
      `IdentityPool '${UNKNOWN_POOL}' not found.`);
    // A known identity named under another pool is not found, as requireIdentity answers everywhere.
    await expectError(update({ ...fresh(), poolId: UNKNOWN_POOL }, SyncSessionToken), 'ResourceNotFoundException', 404,
      `Identity '${identityId}' not found.`);
    await expectError(update(fresh(), 'forged.token'), 'InvalidParameterException', 400);
  });
});
