import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DeleteDatasetCommand, DescribeDatasetCommand, DescribeIdentityPoolUsageCommand, DescribeIdentityUsageCommand,
  ListDatasetsCommand, ListIdentityPoolUsageCommand, ListRecordsCommand, type CognitoSyncClient, type Dataset,
  type IdentityPoolUsage,
} from '@aws-sdk/client-cognito-sync';
import { GetIdCommand } from '@aws-sdk/client-cognito-identity';
import { clients, manualClock, poolWithIdentity, startServer, type TestServer } from '../helpers/server.js';
import { expectError, put, write, type DatasetRef } from './sync-helpers.js';

/** Dataset listing and description, and the usage figures at identity and pool level. */

const ACCOUNT = '123456789012';
const UNKNOWN_POOL = 'us-east-1:00000000-0000-4000-8000-000000000000';
const UNKNOWN_IDENTITY = 'us-east-1:11111111-1111-4111-8111-111111111111';

let t: TestServer;
let sync: CognitoSyncClient;
let poolId: string;
// Real time moves on during the run; a frozen clock advanced by small steps stays well inside the SigV4 skew.
const clock = manualClock(Date.now());

beforeAll(async () => {
  t = await startServer({ clock });
  sync = clients(t).sync;
  ({ poolId } = await poolWithIdentity(t, 'datasets_pool'));
});
afterAll(() => t.close());

async function newIdentity(pool = poolId): Promise<string> {
  const out = await clients(t).identity.send(new GetIdCommand({ IdentityPoolId: pool }));
  return out.IdentityId ?? '';
}

const ref = (identityId: string, dataset: string, pool = poolId): DatasetRef => ({ poolId: pool, identityId, dataset });
const bytes = (...parts: string[]) => parts.reduce((n, s) => n + Buffer.byteLength(s, 'utf8'), 0);
const listDatasets = (identityId: string, extra: { MaxResults?: number; NextToken?: string } = {}, pool = poolId) =>
  sync.send(new ListDatasetsCommand({ IdentityPoolId: pool, IdentityId: identityId, ...extra }));
const describeDataset = (identityId: string, DatasetName: string, pool = poolId) =>
  sync.send(new DescribeDatasetCommand({ IdentityPoolId: pool, IdentityId: identityId, DatasetName }));
const deleteDataset = (identityId: string, DatasetName: string) =>
  sync.send(new DeleteDatasetCommand({ IdentityPoolId: poolId, IdentityId: identityId, DatasetName }));
const identityUsage = (identityId: string, pool = poolId) =>
  sync.send(new DescribeIdentityUsageCommand({ IdentityPoolId: pool, IdentityId: identityId }));
const poolUsage = (pool: string) => sync.send(new DescribeIdentityPoolUsageCommand({ IdentityPoolId: pool }));

/** Every page of ListDatasets with the given page size. */
async function allPages(identityId: string, MaxResults?: number) {
  const pages: Dataset[][] = [];
  let next: string | undefined;
  do {
    const page = await listDatasets(identityId, { ...(MaxResults ? { MaxResults } : {}), ...(next ? { NextToken: next } : {}) });
    expect(page.Count).toBe(page.Datasets?.length ?? 0);
    pages.push(page.Datasets ?? []);
    next = page.NextToken;
  } while (next && pages.length < 50);
  return pages;
}

describe('ListDatasets', () => {
  describe('functionality', () => {
    it('an identity without data has no datasets', async () => {
      const out = await listDatasets(await newIdentity());
      expect(out.Count).toBe(0);
      expect(out.Datasets ?? []).toEqual([]);
      expect(out.NextToken).toBeUndefined();
    });

    it('pages with MaxResults over several pages without repeat or skip; Count is the page size; deleted datasets are not listed', async () => {
      const id = await newIdentity();
      const names = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel'];
      for (const name of names) await write(sync, ref(id, name), [put('k', name)]);
      await deleteDataset(id, 'delta');
      const live = names.filter((n) => n !== 'delta');
      const pages = await allPages(id, 3);
      expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
      const seen = pages.flat().map((d) => d.DatasetName);
      expect(seen).toEqual(live);
      expect(new Set(seen).size).toBe(seen.length);
      const everything = await listDatasets(id);
      expect(everything.Count).toBe(7);
      expect(everything.NextToken).toBeUndefined();
      expect(everything.Datasets?.map((d) => d.DatasetName)).toEqual(live);
    });

    it('a page size equal to the number of datasets gives one page without NextToken', async () => {
      const id = await newIdentity();
      for (const name of ['a', 'b']) await write(sync, ref(id, name), [put('k', 'v')]);
      const out = await listDatasets(id, { MaxResults: 2 });
      expect(out.Count).toBe(2);
      expect(out.NextToken).toBeUndefined();
    });

    it('continues after the last name returned when datasets come and go between pages', async () => {
      const id = await newIdentity();
      for (const name of ['b', 'd', 'f', 'h']) await write(sync, ref(id, name), [put('k', 'v')]);
      const first = await listDatasets(id, { MaxResults: 2 });
      expect(first.Datasets?.map((d) => d.DatasetName)).toEqual(['b', 'd']);
      await write(sync, ref(id, 'a'), [put('k', 'v')]);
      await write(sync, ref(id, 'e'), [put('k', 'v')]);
      await deleteDataset(id, 'f');
      const rest = await listDatasets(id, { MaxResults: 10, NextToken: first.NextToken ?? '' });
      expect(rest.Datasets?.map((d) => d.DatasetName)).toEqual(['e', 'h']);
    });

    it('refuses a NextToken issued for another identity\'s datasets', async () => {
      const id = await newIdentity();
      for (const name of ['a', 'b']) await write(sync, ref(id, name), [put('k', 'v')]);
      const first = await listDatasets(id, { MaxResults: 1 });
      await expectError(listDatasets(await newIdentity(), { MaxResults: 1, NextToken: first.NextToken ?? '' }),
        'InvalidParameterException', 400, 'NextToken');
    });

    it('the default page holds all 20 datasets an identity may have (iOS never pages)', async () => {
      const id = await newIdentity();
      for (let i = 0; i < 20; i++) await write(sync, ref(id, `set_${String(i).padStart(2, '0')}`), [put('k', 'v')]);
      const out = await listDatasets(id);
      expect(out.Count).toBe(20);
      expect(out.NextToken).toBeUndefined();
      expect(new Set(out.Datasets?.map((d) => d.DatasetName)).size).toBe(20);
    });

    it('lists every Dataset field, with DataStorage and NumRecords always present', async () => {
      const id = await newIdentity();
      await write(sync, ref(id, 'fields'), [put('key', 'value')]);
      const [d] = (await listDatasets(id)).Datasets ?? [];
      expect(d).toMatchObject({ IdentityId: id, DatasetName: 'fields', LastModifiedBy: ACCOUNT, DataStorage: 8, NumRecords: 1 });
      expect(d?.CreationDate).toBeInstanceOf(Date);
      expect(d?.LastModifiedDate).toBeInstanceOf(Date);
    });
  });

  describe('validations', () => {
    it('answers NotAuthorizedException (no 404 in the model) for an unknown identity or pool, for ListDatasets and ListRecords', async () => {
      await expectError(listDatasets(UNKNOWN_IDENTITY), 'NotAuthorizedException', 403, UNKNOWN_IDENTITY);
      await expectError(listDatasets(UNKNOWN_IDENTITY, {}, UNKNOWN_POOL), 'NotAuthorizedException', 403, UNKNOWN_POOL);
      const listRecords = (IdentityPoolId: string, IdentityId: string) =>
        sync.send(new ListRecordsCommand({ IdentityPoolId, IdentityId, DatasetName: 'x' }));
      await expectError(listRecords(poolId, UNKNOWN_IDENTITY), 'NotAuthorizedException', 403, UNKNOWN_IDENTITY);
      await expectError(listRecords(UNKNOWN_POOL, UNKNOWN_IDENTITY), 'NotAuthorizedException', 403, UNKNOWN_POOL);
    });

    it('answers NotAuthorizedException for an identity of another pool', async () => {
      const other = await poolWithIdentity(t, 'other_pool');
      await expectError(listDatasets(other.identityId), 'NotAuthorizedException', 403);
    });

    it('refuses MaxResults 0 and a malformed NextToken', async () => {
      const id = await newIdentity();
      await expectError(listDatasets(id, { MaxResults: 0 }), 'InvalidParameterException', 400, "at 'maxResults'");
      await expectError(listDatasets(id, { NextToken: 'garbage' }), 'InvalidParameterException', 400, 'NextToken');
    });
  });
});

describe('DescribeDataset', () => {
  describe('functionality', () => {
    it('reports dates, writer, UTF-8 bytes of keys and values, and the number of records; tombstones count nothing', async () => {
      const id = await newIdentity();
      const created = clock.now();
      await write(sync, ref(id, 'profile'), [put('name', 'Zoë'), put('city', '東京'), put('emoji', '🎉'), put('empty', '')]);
      let d = (await describeDataset(id, 'profile')).Dataset;
      expect(d).toMatchObject({
        IdentityId: id, DatasetName: 'profile', LastModifiedBy: ACCOUNT, NumRecords: 4,
        DataStorage: bytes('name', 'Zoë', 'city', '東京', 'emoji', '🎉', 'empty', ''),
      });
      expect(d?.DataStorage).toBe(4 + 4 + 4 + 6 + 5 + 4 + 5);
      expect(d?.CreationDate).toEqual(new Date(created));
      expect(d?.LastModifiedDate).toEqual(new Date(created));

      clock.advance(60_000);
      await write(sync, ref(id, 'profile'), [{ Op: 'remove', Key: 'city', SyncCount: 1 }, put('name', 'Zoe', 1)]);
      d = (await describeDataset(id, 'profile')).Dataset;
      expect(d).toMatchObject({ NumRecords: 3, DataStorage: bytes('name', 'Zoe', 'emoji', '🎉', 'empty', '') });
      expect(d?.CreationDate).toEqual(new Date(created));
      expect(d?.LastModifiedDate).toEqual(new Date(created + 60_000));

      await write(sync, ref(id, 'profile'), [put('city', 'Paris', 2)]);
      d = (await describeDataset(id, 'profile')).Dataset;
      expect(d).toMatchObject({ NumRecords: 4, DataStorage: bytes('name', 'Zoe', 'emoji', '🎉', 'empty', '', 'city', 'Paris') });
    });

    it('DeleteDataset answers the metadata as it was; the deleted dataset is then 404', async () => {
      const id = await newIdentity();
      await write(sync, ref(id, 'gone'), [put('a', '12'), put('b', '345')]);
      const before = (await describeDataset(id, 'gone')).Dataset;
      const deleted = await deleteDataset(id, 'gone');
      expect(deleted.Dataset).toEqual(before);
      await expectError(describeDataset(id, 'gone'), 'ResourceNotFoundException', 404, 'gone');
    });
  });

  describe('validations', () => {
    it('answers 404 for an unknown dataset, identity or pool', async () => {
      const id = await newIdentity();
      await expectError(describeDataset(id, 'wrongname'), 'ResourceNotFoundException', 404, 'wrongname');
      await expectError(describeDataset(UNKNOWN_IDENTITY, 'x'), 'ResourceNotFoundException', 404, UNKNOWN_IDENTITY);
      await expectError(describeDataset(UNKNOWN_IDENTITY, 'x', UNKNOWN_POOL), 'ResourceNotFoundException', 404, UNKNOWN_POOL);
    });

    it('a dataset that was only listed (never written) does not exist', async () => {
      const id = await newIdentity();
      await sync.send(new ListRecordsCommand({ IdentityPoolId: poolId, IdentityId: id, DatasetName: 'listed' }));
      await expectError(describeDataset(id, 'listed'), 'ResourceNotFoundException', 404);
      expect((await listDatasets(id)).Count).toBe(0);
    });
  });
});

describe('DescribeIdentityUsage', () => {
  it('starts at zero without a LastModifiedDate', async () => {
    const id = await newIdentity();
    const { IdentityUsage: u } = await identityUsage(id);
    expect(u).toMatchObject({ IdentityId: id, IdentityPoolId: poolId, DatasetCount: 0, DataStorage: 0 });
    expect(u?.LastModifiedDate).toBeUndefined();
  });

  it('DataStorage is the sum over its datasets, DatasetCount their number, LastModifiedDate the last write', async () => {
    const id = await newIdentity();
    await write(sync, ref(id, 'one'), [put('a', 'xyz')]);
    await write(sync, ref(id, 'two'), [put('long key', 'ü'.repeat(10)), put('b', '')]);
    clock.advance(1_000);
    const lastWrite = clock.now();
    await write(sync, ref(id, 'three'), [put('c', 'd')]);
    const datasets = (await listDatasets(id)).Datasets ?? [];
    const sum = datasets.reduce((n, d) => n + (d.DataStorage ?? 0), 0);
    expect(sum).toBe(bytes('a', 'xyz', 'long key', 'ü'.repeat(10), 'b', '', 'c', 'd'));
    const { IdentityUsage: u } = await identityUsage(id);
    expect(u).toMatchObject({ DatasetCount: 3, DataStorage: sum, LastModifiedDate: new Date(lastWrite) });

    await deleteDataset(id, 'two');
    expect((await identityUsage(id)).IdentityUsage).toMatchObject({ DatasetCount: 2, DataStorage: bytes('a', 'xyz', 'c', 'd') });
  });

  it('answers 404 for an unknown identity or pool, and for an identity named under another pool', async () => {
    await expectError(identityUsage(UNKNOWN_IDENTITY), 'ResourceNotFoundException', 404, UNKNOWN_IDENTITY);
    await expectError(identityUsage(UNKNOWN_IDENTITY, UNKNOWN_POOL), 'ResourceNotFoundException', 404, UNKNOWN_POOL);
    const other = await poolWithIdentity(t, 'usage_other');
    await expectError(identityUsage(other.identityId, poolId), 'ResourceNotFoundException', 404, other.identityId);
  });
});

describe('DescribeIdentityPoolUsage', () => {
  it('adds up: DataStorage is the sum over identities, SyncSessionsCount the successful UpdateRecords', async () => {
    const { poolId: pool, identityId: first } = await poolWithIdentity(t, 'usage_pool');
    const empty = await poolUsage(pool);
    expect(empty.IdentityPoolUsage).toMatchObject({ IdentityPoolId: pool, DataStorage: 0, SyncSessionsCount: 0 });
    expect(empty.IdentityPoolUsage?.LastModifiedDate).toBeUndefined();

    const second = await newIdentity(pool);
    await write(sync, ref(first, 'a', pool), [put('k1', 'v1'), put('k2', 'value two')]);
    await write(sync, ref(first, 'a', pool), [put('k1', 'v1b', 1)]);
    await write(sync, ref(first, 'b', pool), [put('x', 'y')]);
    await write(sync, ref(second, 'a', pool), [put('ключ', 'значение')]);
    clock.advance(1_000);
    const lastWrite = clock.now();
    await write(sync, ref(second, 'c', pool), [put('z', '')]);
    // Refused writes are no sync sessions.
    await expectError(write(sync, ref(second, 'c', pool), [put('z', 'stale', 0)]), 'ResourceConflictException', 409);

    const usages = await Promise.all([first, second].map((id) => identityUsage(id, pool)));
    const total = usages.reduce((n, u) => n + (u.IdentityUsage?.DataStorage ?? 0), 0);
    expect(total).toBe(bytes('k1', 'v1b', 'k2', 'value two', 'x', 'y', 'ключ', 'значение', 'z', ''));
    const { IdentityPoolUsage: u } = await poolUsage(pool);
    expect(u).toMatchObject({ IdentityPoolId: pool, DataStorage: total, SyncSessionsCount: 5, LastModifiedDate: new Date(lastWrite) });

    // Deleting a dataset frees its bytes; the sessions already committed stay counted.
    await sync.send(new DeleteDatasetCommand({ IdentityPoolId: pool, IdentityId: first, DatasetName: 'b' }));
    expect((await poolUsage(pool)).IdentityPoolUsage).toMatchObject({ DataStorage: total - bytes('x', 'y'), SyncSessionsCount: 5 });
    await write(sync, ref(first, 'a', pool), [{ Op: 'remove', Key: 'k2', SyncCount: 1 }]);
    expect((await poolUsage(pool)).IdentityPoolUsage).toMatchObject({
      DataStorage: total - bytes('x', 'y', 'k2', 'value two'), SyncSessionsCount: 6,
    });
  });

  it('answers 404 for an unknown pool', async () => {
    await expectError(poolUsage(UNKNOWN_POOL), 'ResourceNotFoundException', 404, UNKNOWN_POOL);
  });
});

describe('ListIdentityPoolUsage', () => {
  let s: TestServer;
  let dev: CognitoSyncClient;
  const pools: string[] = [];
  const list = (extra: { MaxResults?: number; NextToken?: string } = {}) => dev.send(new ListIdentityPoolUsageCommand(extra));

  beforeAll(async () => {
    s = await startServer();
    dev = clients(s).sync;
    for (let i = 0; i < 5; i++) {
      const { poolId: pool, identityId } = await poolWithIdentity(s, `list_pool_${i}`);
      pools.push(pool);
      if (i % 2 === 0) await write(dev, { poolId: pool, identityId, dataset: 'd' }, [put('key', `value ${i}`)]);
    }
    pools.sort();
  });
  afterAll(() => s.close());

  it('pages by pool ID: NextToken is base64 of the last pool ID, MaxResults echoed, Count the page size', async () => {
    const seen: IdentityPoolUsage[] = [];
    const sizes: number[] = [];
    let next: string | undefined;
    do {
      const page = await list({ MaxResults: 2, ...(next ? { NextToken: next } : {}) });
      const usages = page.IdentityPoolUsages ?? [];
      expect(page.MaxResults).toBe(2);
      expect(page.Count).toBe(usages.length);
      sizes.push(usages.length);
      seen.push(...usages);
      next = page.NextToken;
      if (next) expect(Buffer.from(next, 'base64').toString('utf8')).toBe(usages[usages.length - 1]?.IdentityPoolId);
    } while (next && sizes.length < 10);
    expect(sizes).toEqual([2, 2, 1]);
    expect(seen.map((u) => u.IdentityPoolId)).toEqual(pools);
  });

  it('without MaxResults returns every pool in one page; figures match DescribeIdentityPoolUsage', async () => {
    const out = await list();
    expect(out.NextToken).toBeUndefined();
    expect(out.Count).toBe(5);
    expect(out.MaxResults).toBeGreaterThanOrEqual(5);
    for (const usage of out.IdentityPoolUsages ?? []) {
      const one = await dev.send(new DescribeIdentityPoolUsageCommand({ IdentityPoolId: usage.IdentityPoolId ?? '' }));
      expect(usage).toEqual(one.IdentityPoolUsage);
    }
    const written = (out.IdentityPoolUsages ?? []).filter((u) => (u.SyncSessionsCount ?? 0) > 0);
    expect(written).toHaveLength(3);
    expect(written.every((u) => u.DataStorage === bytes('key', 'value 0') && u.LastModifiedDate instanceof Date)).toBe(true);
  });

  it('a token built from a pool ID (as AWS documents) continues after that pool', async () => {
    const token = Buffer.from(pools[2] ?? '').toString('base64');
    const out = await list({ NextToken: token });
    expect(out.IdentityPoolUsages?.map((u) => u.IdentityPoolId)).toEqual(pools.slice(3));
  });

  it('refuses MaxResults 0 and a malformed NextToken', async () => {
    await expectError(list({ MaxResults: 0 }), 'InvalidParameterException', 400, "at 'maxResults'");
    await expectError(list({ NextToken: 'bm90IGEgcG9vbA==' }), 'InvalidParameterException', 400, 'NextToken');
  });
});
