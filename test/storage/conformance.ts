import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ServiceError, errors } from '../../src/api/errors.js';
import type { SyncStore } from '../../src/storage/store.js';
import { runIdentityConformance } from './conformance-identities.js';
import { runPoolDeletionConformance } from './conformance-pool-deletion.js';
import { runWriteConformance } from './conformance-writes.js';
import type {
  ConsumedSessionKey, DatasetRow, DatasetWriteState, Device, Identity, IdentityPool, Page, RecordRow, WriteCommand, WritePlan,
} from '../../src/storage/types.js';

/** Registers one test of the suite (skipped, with the reason, when the adapter's `skip` names its title). */
export type ConformanceTest = (title: string, fn: () => Promise<void>) => void;

/**
 * A part of the suite kept in a file of its own: it registers its tests with `test`, and `getStore` answers the
 * fresh store of the test that is running.
 */
export type ConformancePart = (test: ConformanceTest, getStore: () => SyncStore) => void;

/**
 * The contract suite every SyncStore adapter must pass (see src/storage/store.ts). Engine-neutral: nothing here
 * may depend on SQLite. `create` must return a fresh, empty store for every test; the suite closes it.
 * `skip` names tests (by exact title) an adapter cannot pass yet, with the reason; unknown titles are an error.
 */
export function runStoreConformance(opts: {
  name: string;
  create: () => Promise<SyncStore>;
  skip?: { reason: string; tests: string[] }[];
}): void {
  describe(`SyncStore conformance: ${opts.name}`, () => {
    const skipped = new Map(opts.skip?.flatMap((s) => s.tests.map((t) => [t, s.reason] as const)));
    const titles = new Set<string>();
    let store: SyncStore;
    const test: ConformanceTest = (title, fn) => {
      titles.add(title);
      const reason = skipped.get(title);
      if (reason === undefined) it(title, fn);
      else it.skip(`${title} (skipped: ${reason})`, fn);
    };
    beforeEach(async () => {
      store = await opts.create();
    });
    afterEach(async () => {
      await store.close();
    });

    test('getOrCreateSecret creates the secret once and then returns the stored one', async () => {
      expect(await store.getOrCreateSecret('hmac', () => 'first')).toBe('first');
      expect(await store.getOrCreateSecret('hmac', () => 'second')).toBe('first');
      expect(await store.getOrCreateSecret('other', () => 'third')).toBe('third');
    });

    // --- identity pools -------------------------------------------------------------------------------------
    test('identity pools: create, get, modify', async () => {
      expect(await store.getIdentityPool('us-east-1:p1')).toBeUndefined();
      expect(await store.createIdentityPool(pool('us-east-1:p1'))).toBe(true);
      expect(await store.createIdentityPool(pool('us-east-1:p2'))).toBe(true);
      expect(await store.getIdentityPool('us-east-1:p1')).toEqual(pool('us-east-1:p1'));
      const changed: IdentityPool = {
        ...pool('us-east-1:p1'), identityPoolName: 'renamed', allowClassicFlow: true, developerProviderName: 'login.dev',
        tags: { team: 'b' }, openIdConnectProviderArns: ['arn:oidc'], samlProviderArns: ['arn:saml'],
      };
      expect(await store.modifyIdentityPool('us-east-1:p1', () => changed)).toEqual(changed);
      expect(await store.getIdentityPool('us-east-1:p1')).toEqual(changed);
      expect(await store.getIdentityPool('us-east-1:p2')).toEqual(pool('us-east-1:p2'));
    });

    test('identity pools: a creation beyond maxPools stores nothing, even among creations at the same moment', async () => {
      const created = await Promise.all(Array.from({ length: 12 }, (_, i) =>
        store.createIdentityPool(pool(`us-east-1:racing-${String(i).padStart(2, '0')}`), 5)));
      expect(created.filter(Boolean)).toHaveLength(5);
      expect(await store.listIdentityPools({ limit: 100 })).toHaveLength(5);
      expect(await store.createIdentityPool(pool('us-east-1:late'), 5)).toBe(false);
      expect(await store.getIdentityPool('us-east-1:late')).toBeUndefined();
      expect(await store.createIdentityPool(pool('us-east-1:late'), 6)).toBe(true);
      expect(await store.createIdentityPool(pool('us-east-1:unbounded'))).toBe(true);
    });

    test('identity pools: concurrent changes are all kept; a throwing change aborts; a missing pool is undefined', async () => {
      await store.createIdentityPool(pool('us-east-1:tagged'));
      await Promise.all(Array.from({ length: 10 }, (_, i) =>
        store.modifyIdentityPool('us-east-1:tagged', (p) => ({ ...p, tags: { ...p.tags, [`k${i}`]: `v${i}` } }))));
      expect(Object.keys((await store.getIdentityPool('us-east-1:tagged'))!.tags)).toHaveLength(11);
      const error = errors.invalidParameter('too many');
      await expect(store.modifyIdentityPool('us-east-1:tagged', () => { throw error; })).rejects.toBe(error);
      expect(Object.keys((await store.getIdentityPool('us-east-1:tagged'))!.tags)).toHaveLength(11);
      expect(await store.modifyIdentityPool('us-east-1:nope', (p) => p)).toBeUndefined();
      expect(await store.getIdentityPool('us-east-1:nope')).toBeUndefined();
    });

    test('identity pools: listed by ID with keyset pagination', async () => {
      const ids = ['us-east-1:c', 'us-east-1:a', 'eu-west-1:z', 'us-east-1:b', 'us-west-2:a'];
      for (const id of ids) await store.createIdentityPool(pool(id));
      expect(await collectPages((p: IdentityPool) => p.identityPoolId, (page) => store.listIdentityPools(page), 2))
        .toEqual([...ids].sort());
    });

    test('identity pools: delete cascades to everything of the pool, and only of the pool', async () => {
      for (const p of ['us-east-1:gone', 'us-east-1:kept']) {
        await store.createIdentityPool(pool(p));
        await store.createIdentity(identity(`${p}-id`, p));
        await write(store, `${p}-id`, 'ds', { k: 'v' }, { poolId: p });
        await store.registerDevice(device(`${p}-dev`, `${p}-id`));
        await store.subscribe(`${p}-id`, 'ds', `${p}-dev`, 1);
        await store.updatePoolSyncSettings(p, (s) => ({ ...s, events: { SyncTrigger: 'arn:lambda' } }));
      }
      // A dataset of an identity the store never saw created still belongs to the pool it was written under.
      await write(store, 'us-east-1:stray', 'ds', { k: 'v' }, { poolId: 'us-east-1:gone' });

      expect(await store.deleteIdentityPool('us-east-1:gone')).toBe(true);
      expect(await store.getIdentityPool('us-east-1:gone')).toBeUndefined();
      expect(await store.getIdentity('us-east-1:gone-id')).toBeUndefined();
      for (const id of ['us-east-1:gone-id', 'us-east-1:stray']) {
        expect(await store.getDataset(id, 'ds')).toBeUndefined();
        expect(await store.listRecords(id, 'ds', ALL, { limit: 10 })).toEqual([]);
      }
      expect(await store.getDevice('us-east-1:gone-id', 'us-east-1:gone-dev')).toBeUndefined();
      expect(await store.listSubscribedDevices('us-east-1:gone-id', 'ds')).toEqual([]);
      expect((await store.getPoolSyncSettings('us-east-1:gone')).events).toEqual({});
      expect(await store.getPoolUsage(['us-east-1:gone'])).toEqual([emptyUsage('us-east-1:gone')]);
      expect(await store.deleteIdentityPool('us-east-1:gone')).toBe(false);

      expect(await store.getIdentityPool('us-east-1:kept')).toBeDefined();
      expect(await store.getIdentity('us-east-1:kept-id')).toBeDefined();
      expect((await store.getDataset('us-east-1:kept-id', 'ds'))?.numRecords).toBe(1);
      expect(await store.listSubscribedDevices('us-east-1:kept-id', 'ds')).toHaveLength(1);
      expect((await store.getPoolSyncSettings('us-east-1:kept')).events).toEqual({ SyncTrigger: 'arn:lambda' });
    });

    // --- identities -------------------------------------------------------------------------------------------
    test('identities: create, get, list per pool by ID with pagination', async () => {
      const ids = ['us-east-1:5', 'us-east-1:1', 'us-east-1:3', 'us-east-1:2', 'us-east-1:4'];
      for (const id of ids) await store.createIdentity(identity(id, 'pool-a'));
      await store.createIdentity(identity('us-east-1:0', 'pool-b', { disabled: true }));
      expect(await store.getIdentity('us-east-1:0')).toEqual(identity('us-east-1:0', 'pool-b', { disabled: true }));
      expect(await store.getIdentity('us-east-1:9')).toBeUndefined();
      expect(await collectPages((i: Identity) => i.identityId, (page) => store.listIdentities('pool-a', page), 2))
        .toEqual([...ids].sort());
      expect(await store.listIdentities('pool-b', { limit: 10 })).toEqual([identity('us-east-1:0', 'pool-b', { disabled: true })]);
    });

    // --- settings ---------------------------------------------------------------------------------------------
    test('pool sync settings: defaults when never set', async () => {
      expect(await store.getPoolSyncSettings('pool-a')).toEqual({
        events: {}, pushSync: null, cognitoStreams: null,
        bulkPublish: { status: 'NOT_STARTED', startedAt: null, completedAt: null, failureMessage: null },
      });
    });

    test('pool sync settings: atomic update; concurrent updates are all kept', async () => {
      await store.createIdentityPool(pool('pool-a'));
      const result = await store.updatePoolSyncSettings('pool-a', (s) => ({
        ...s, pushSync: { applicationArns: ['arn:app'], roleArn: 'arn:role' },
      }));
      expect(result?.pushSync).toEqual({ applicationArns: ['arn:app'], roleArn: 'arn:role' });
      await Promise.all(Array.from({ length: 10 }, (_, i) =>
        store.updatePoolSyncSettings('pool-a', (s) => ({ ...s, events: { ...s.events, [`e${i}`]: `arn:${i}` } }))));
      const settings = await store.getPoolSyncSettings('pool-a');
      expect(Object.keys(settings.events)).toHaveLength(10);
      expect(settings.pushSync).toEqual(result?.pushSync);
      expect((await store.getPoolSyncSettings('pool-b')).pushSync).toBeNull();
    });

    test('pool sync settings: a throwing update aborts and rethrows its error', async () => {
      await store.createIdentityPool(pool('pool-a'));
      await store.updatePoolSyncSettings('pool-a', (s) => ({ ...s, events: { a: 'arn:a' } }));
      const error = errors.invalidConfiguration('nope');
      await expect(store.updatePoolSyncSettings('pool-a', () => { throw error; })).rejects.toBe(error);
      expect((await store.getPoolSyncSettings('pool-a')).events).toEqual({ a: 'arn:a' });
    });

    test('pool sync settings: none are kept for a pool that does not exist, or no longer does', async () => {
      expect(await store.updatePoolSyncSettings('us-east-1:never', (s) => ({ ...s, events: { a: 'arn:a' } }))).toBeUndefined();
      await store.createIdentityPool(pool('us-east-1:doomed'));
      // Updates racing the deletion: each lands before it (and is deleted with the pool) or finds no pool.
      const updates = Array.from({ length: 10 }, (_, i) =>
        store.updatePoolSyncSettings('us-east-1:doomed', (s) => ({ ...s, events: { ...s.events, [`e${i}`]: 'arn' } })));
      const deleted = store.deleteIdentityPool('us-east-1:doomed');
      await Promise.all([...updates, deleted]);
      expect(await deleted).toBe(true);
      for (const id of ['us-east-1:never', 'us-east-1:doomed']) expect((await store.getPoolSyncSettings(id)).events).toEqual({});
      expect(await store.updatePoolSyncSettings('us-east-1:doomed', (s) => s)).toBeUndefined();
    });

    // writeRecords: in its own file.
    runWriteConformance(test, () => store);

    // --- listRecords ------------------------------------------------------------------------------------------
    test('listRecords: filters by sync-count range, ordered by (syncCount, key)', async () => {
      await write(store, 'id-1', 'ds', { b: '1', a: '1' });
      await write(store, 'id-1', 'ds', { c: '2' });
      await write(store, 'id-1', 'ds', { d: '3', a: null });
      await write(store, 'id-2', 'ds', { a: 'other identity' });
      const keys = async (since: number, upTo: number) =>
        (await store.listRecords('id-1', 'ds', { sinceSyncCount: since, upToSyncCount: upTo }, { limit: 10 })).map((r) => r.key);
      expect(await keys(0, 3)).toEqual(['b', 'c', 'a', 'd']);
      expect(await keys(1, 2)).toEqual(['c']);
      expect(await keys(2, 3)).toEqual(['a', 'd']);
      expect(await keys(0, 1)).toEqual(['b']);
      expect(await keys(3, 3)).toEqual([]);
      expect(await store.listRecords('id-1', 'nope', ALL, { limit: 10 })).toEqual([]);
    });

    test('listRecords: keyset pagination never skips nor repeats', async () => {
      for (let i = 0; i < 6; i++) {
        await write(store, 'id-1', 'ds', { [`k${i}`]: 'x', [`k${i + 1}`]: 'y', [`m${i % 3}`]: String(i), z: i % 2 ? null : 'z' });
      }
      const full = await store.listRecords('id-1', 'ds', ALL, { limit: 100 });
      expect(full.map((r) => [r.syncCount, r.key])).toEqual(
        full.map((r) => [r.syncCount, r.key]).sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : a[1]! < b[1]! ? -1 : 1)));
      for (const limit of [1, 2, 3, 5]) {
        const pages = await collectPages(
          (r: RecordRow) => ({ syncCount: r.syncCount, key: r.key }), (page) => store.listRecords('id-1', 'ds', ALL, page), limit);
        expect(pages).toEqual(full.map((r) => ({ syncCount: r.syncCount, key: r.key })));
      }
      const middle = full[2]!;
      expect(await store.listRecords('id-1', 'ds', ALL, { after: { syncCount: middle.syncCount, key: middle.key }, limit: 100 }))
        .toEqual(full.slice(3));
    });

    // --- datasets ---------------------------------------------------------------------------------------------
    test('listDatasets: live datasets by name with pagination', async () => {
      for (const name of ['e', 'b', 'd', 'a', 'c']) await write(store, 'id-1', name, { k: 'v' });
      await write(store, 'id-2', 'a', { k: 'v' });
      await store.deleteDataset('id-1', 'c', 9000);
      expect(await collectPages((d: DatasetRow) => d.datasetName, (page) => store.listDatasets('id-1', page), 2))
        .toEqual(['a', 'b', 'd', 'e']);
    });

    test('deleteDataset: purges records, returns the previous row, is idempotent', async () => {
      await write(store, 'id-1', 'ds', { a: '1', b: '2' });
      await write(store, 'id-1', 'ds', { a: null });
      const before = await store.getDataset('id-1', 'ds');
      expect(await store.deleteDataset('id-1', 'ds', 9000)).toEqual(before);
      expect(await store.getDataset('id-1', 'ds')).toEqual({
        ...before, deleted: true, lastDeletedAtSyncCount: 2, numRecords: 0, dataStorage: 0, lastModifiedAt: 9000,
      });
      expect(await store.listRecords('id-1', 'ds', ALL, { limit: 10 })).toEqual([]);
      expect(await store.deleteDataset('id-1', 'ds', 9500)).toBeUndefined();
      expect(await store.deleteDataset('id-1', 'never', 9500)).toBeUndefined();
      expect((await store.getDataset('id-1', 'ds'))?.lastModifiedAt).toBe(9000);
    });

    test('deleteDataset: a re-created dataset keeps its count and reads every key as new', async () => {
      await write(store, 'id-1', 'ds', { a: '1' });
      await store.deleteDataset('id-1', 'ds', 9000);
      const state = await peek(store, command('id-1', 'ds', ['a']));
      expect(state.dataset).toMatchObject({ deleted: true, syncCount: 1, lastDeletedAtSyncCount: 1 });
      expect(state.currentRecords.size).toBe(0);
      expect(state.liveDatasetCount).toBe(0);
      await write(store, 'id-1', 'ds', { a: 'again' });
      expect(await store.getDataset('id-1', 'ds')).toMatchObject({ deleted: false, syncCount: 2, lastDeletedAtSyncCount: 1 });
      expect(await store.listRecords('id-1', 'ds', ALL, { limit: 10 })).toEqual([record('a', 'again', 2)]);
    });

    test('listMergedDatasetNames: live merges of a dataset, by name', async () => {
      await write(store, 'id-1', 'profile', { k: 'v' });
      for (const old of ['old-b', 'old-a', 'old-c']) {
        await write(store, 'id-1', `profile.us-east-1:${old}`, { k: 'v' }, { mergeParent: 'profile' });
      }
      await write(store, 'id-1', 'other.us-east-1:old-a', { k: 'v' }, { mergeParent: 'other' });
      await write(store, 'id-2', 'profile.us-east-1:old-z', { k: 'v' }, { mergeParent: 'profile' });
      await store.deleteDataset('id-1', 'profile.us-east-1:old-c', 9000);
      expect(await store.listMergedDatasetNames('id-1', 'profile'))
        .toEqual(['profile.us-east-1:old-a', 'profile.us-east-1:old-b']);
      expect(await store.listMergedDatasetNames('id-1', 'nothing')).toEqual([]);
    });

    test('getDatasetView: identity, dataset and merged names as their own getters return them', async () => {
      await store.createIdentity(identity('id-1', 'pool-a'));
      await store.createIdentity(identity('id-3', 'pool-a', { disabled: true }));
      await write(store, 'id-1', 'profile', { k: 'v' });
      for (const old of ['old-b', 'old-a', 'old-c']) {
        await write(store, 'id-1', `profile.us-east-1:${old}`, { k: 'v' }, { mergeParent: 'profile' });
      }
      await store.deleteDataset('id-1', 'profile.us-east-1:old-c', 9000);
      await write(store, 'id-1', 'gone', { k: 'v' });
      await store.deleteDataset('id-1', 'gone', 9000);
      // A dataset of an identity the store has not seen, and merges into a dataset that does not exist.
      await write(store, 'id-2', 'notes', { k: 'v' });
      await write(store, 'id-3', 'notes.us-east-1:old-x', { k: 'v' }, { mergeParent: 'notes' });

      const cases: [string, string][] = [
        ['id-1', 'profile'], ['id-1', 'gone'], ['id-1', 'never'], ['id-1', 'profile.us-east-1:old-a'],
        ['id-2', 'notes'], ['id-3', 'notes'], ['id-9', 'never'],
      ];
      for (const [identityId, name] of cases) {
        expect(await store.getDatasetView(identityId, name)).toEqual({
          identity: await store.getIdentity(identityId),
          dataset: await store.getDataset(identityId, name),
          mergedDatasetNames: await store.listMergedDatasetNames(identityId, name),
        });
      }
      const view = await store.getDatasetView('id-1', 'profile');
      expect(view.identity).toEqual(identity('id-1', 'pool-a'));
      expect(view.dataset).toMatchObject({ datasetName: 'profile', numRecords: 1, deleted: false });
      expect(view.mergedDatasetNames).toEqual(['profile.us-east-1:old-a', 'profile.us-east-1:old-b']);
      expect((await store.getDatasetView('id-1', 'gone')).dataset).toMatchObject({ deleted: true });
      expect(await store.getDatasetView('id-3', 'notes'))
        .toEqual({ identity: identity('id-3', 'pool-a', { disabled: true }), dataset: undefined, mergedDatasetNames: ['notes.us-east-1:old-x'] });
      expect(await store.getDatasetView('id-9', 'never')).toEqual({ identity: undefined, dataset: undefined, mergedDatasetNames: [] });
    });

    // --- usage ------------------------------------------------------------------------------------------------
    test('usage: figures add up across datasets, identities and pools', async () => {
      await write(store, 'id-a', 'd1', { a: '1', bb: '22' }, { poolId: 'pool-p', now: 1000 });
      await write(store, 'id-a', 'd2', { c: '333' }, { poolId: 'pool-p', now: 2000 });
      await write(store, 'id-a', 'd1', { a: null }, { poolId: 'pool-p', now: 3000 });
      await write(store, 'id-b', 'd1', { x: 'y' }, { poolId: 'pool-p', now: 1500 });
      await write(store, 'id-c', 'd1', { q: 'q' }, { poolId: 'pool-q', now: 500 });
      expect(await store.getIdentityUsage('id-a')).toEqual({ datasetCount: 2, dataStorage: 8, lastModifiedAt: 3000 });
      expect(await store.getIdentityUsage('id-none')).toEqual({ datasetCount: 0, dataStorage: 0, lastModifiedAt: null });
      expect(await store.getPoolUsage(['pool-p'])).toEqual([
        { identityPoolId: 'pool-p', dataStorage: 10, syncSessionsCount: 4, lastModifiedAt: 3000 },
      ]);
      await store.deleteDataset('id-a', 'd2', 9000);
      expect(await store.getIdentityUsage('id-a')).toEqual({ datasetCount: 1, dataStorage: 4, lastModifiedAt: 9000 });
      expect(await store.getPoolUsage(['pool-q', 'pool-none', 'pool-p'])).toEqual([
        { identityPoolId: 'pool-q', dataStorage: 2, syncSessionsCount: 1, lastModifiedAt: 500 },
        emptyUsage('pool-none'),
        // Sync sessions outlive the deletion of the dataset they were committed to.
        { identityPoolId: 'pool-p', dataStorage: 6, syncSessionsCount: 4, lastModifiedAt: 9000 },
      ]);
    });

    // --- devices ----------------------------------------------------------------------------------------------
    test('registerDevice is idempotent per (identity, platform, token)', async () => {
      await store.createIdentity(identity('id-1', 'pool-a'));
      const first = device('dev-1', 'id-1');
      expect(await store.registerDevice(first)).toEqual(first);
      expect(await store.registerDevice({ ...device('dev-2', 'id-1'), createdAt: 99 })).toEqual(first);
      expect(await store.getDevice('id-1', 'dev-2')).toBeUndefined();
      const otherToken = { ...device('dev-3', 'id-1'), token: 'token-2' };
      expect(await store.registerDevice(otherToken)).toEqual(otherToken);
      const otherPlatform = { ...device('dev-4', 'id-1'), platform: 'GCM' };
      expect(await store.registerDevice(otherPlatform)).toEqual(otherPlatform);
      expect(await store.getDevice('id-1', 'dev-1')).toEqual(first);
      // A device is found only under its own identity.
      expect(await store.getDevice('id-2', 'dev-1')).toBeUndefined();
      // An ID holding U+0000 (PostgreSQL's text cannot carry one) names no device, on every engine.
      expect(await store.getDevice('id-1', 'dev-1\u0000')).toBeUndefined();
    });

    test('subscriptions: subscribe is idempotent, unsubscribe reports, deleteDataset drops them', async () => {
      await store.createIdentity(identity('id-1', 'pool-a'));
      for (const id of ['dev-1', 'dev-2']) await store.registerDevice({ ...device(id, 'id-1'), token: id });
      await write(store, 'id-1', 'ds', { k: 'v' });
      await write(store, 'id-1', 'other', { k: 'v' });
      await store.subscribe('id-1', 'ds', 'dev-2', 1);
      await store.subscribe('id-1', 'ds', 'dev-1', 1);
      await store.subscribe('id-1', 'ds', 'dev-1', 2);
      expect(await store.subscribe('id-1', 'other', 'dev-1', 2)).toBe(true);
      // A device the identity does not have (never, or no longer: deleted with its identity) is not subscribed.
      expect(await store.subscribe('id-1', 'ds', 'dev-9', 1)).toBe(false);
      // Nor a device to a dataset that is not there, or no longer (deleted meanwhile).
      expect(await store.subscribe('id-1', 'never', 'dev-1', 1)).toBe(false);
      expect(await store.registerDevice(device('dev-9', 'id-never'))).toBeUndefined();
      const ids = async (ds: string) => (await store.listSubscribedDevices('id-1', ds)).map((d) => d.deviceId).sort();
      expect(await ids('ds')).toEqual(['dev-1', 'dev-2']);
      expect(await store.unsubscribe('id-1', 'ds', 'dev-2')).toBe(true);
      expect(await store.unsubscribe('id-1', 'ds', 'dev-2')).toBe(false);
      expect(await store.subscribe('id-1', 'ds', 'dev-1\u0000', 1)).toBe(false);
      expect(await store.unsubscribe('id-1', 'ds', 'dev-1\u0000')).toBe(false);
      expect(await ids('ds')).toEqual(['dev-1']);
      await store.deleteDataset('id-1', 'ds', 9000);
      expect(await ids('ds')).toEqual([]);
      expect(await store.subscribe('id-1', 'ds', 'dev-1', 9001)).toBe(false);
      expect(await ids('ds')).toEqual([]);
      expect(await ids('other')).toEqual(['dev-1']);
    });

    test('close() flushes a pending write and is idempotent', async () => {
      const c = command('id-1', 'ds', ['a']);
      const pending = store.writeRecords(c, putPlan(c, { a: '1' }));
      await store.close();
      await expect(pending).resolves.toMatchObject({ dataset: { syncCount: 1 } });
      await store.close();
    });

    // Identities, logins and merges (Cognito Identity), in their own file.
    runIdentityConformance(test, () => store);
    // Deleting big pools, in chunks, racing other calls: in its own file.
    runPoolDeletionConformance(test, () => store);

    for (const title of skipped.keys()) {
      if (!titles.has(title)) throw new Error(`conformance skip names an unknown test: ${title}`);
    }
  });
}

// --- fixtures (exported for the parts in files of their own) -------------------------------------------------------------

export const ALL = { sinceSyncCount: 0, upToSyncCount: Number.MAX_SAFE_INTEGER };
let sessions = 0;

export const pool = (id: string): IdentityPool => ({
  identityPoolId: id, identityPoolName: `name of ${id}`, allowUnauthenticatedIdentities: true, allowClassicFlow: false,
  supportedLoginProviders: { 'graph.facebook.com': '123' }, developerProviderName: null, openIdConnectProviderArns: [],
  cognitoIdentityProviders: [{ providerName: 'cognito-idp.us-east-1.amazonaws.com/pool', clientId: 'c', serverSideTokenCheck: false }],
  samlProviderArns: [], tags: { team: 'a' }, roles: {}, roleMappings: {}, principalTagMaps: {}, createdAt: 1000,
});
export const identity = (id: string, poolId: string, over: Partial<Identity> = {}): Identity => ({
  identityId: id, identityPoolId: poolId, createdAt: 1000, lastModifiedAt: 2000, disabled: false, ...over,
});
export const device = (id: string, identityId: string): Device => ({
  deviceId: id, identityId, platform: 'APNS', token: 'token-1', createdAt: 1000,
});
export const emptyUsage = (id: string) => ({ identityPoolId: id, dataStorage: 0, syncSessionsCount: 0, lastModifiedAt: null });
export const record = (key: string, value: string | null, syncCount: number, now = 1000): RecordRow => ({
  key, value, syncCount, lastModifiedAt: now, lastModifiedBy: 'tester', deviceLastModifiedAt: now,
});
export const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
export const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');

export function command(identityId: string, datasetName: string, keys: string[], over: Partial<WriteCommand> = {}): WriteCommand {
  return {
    identityPoolId: 'pool-a', identityId, datasetName, keys, sessionId: `session-${++sessions}`,
    sessionExpiresAt: 10_000_000, ...over,
  };
}

/** The key isSessionConsumed takes for the session a command consumes. */
export function sessionOf(c: WriteCommand): ConsumedSessionKey {
  return { sessionId: c.sessionId, expiresAt: c.sessionExpiresAt };
}

/** A tiny stand-in for the domain planner: one sync count up, puts (null removes), sizes kept by delta. */
export function putPlan(c: WriteCommand, values: Record<string, string | null>, now = 1000, mergeParent: string | null = null) {
  return (state: DatasetWriteState): WritePlan & { dataset: DatasetRow } => {
    const prev = state.dataset;
    const live = prev !== undefined && !prev.deleted;
    const syncCount = (prev?.syncCount ?? 0) + 1;
    let numRecords = live ? prev.numRecords : 0;
    let dataStorage = live ? prev.dataStorage : 0;
    const records = Object.entries(values).map(([key, value]) => {
      const current = state.currentRecords.get(key);
      if (current?.live) (numRecords -= 1), (dataStorage -= current.bytes);
      if (value !== null) (numRecords += 1), (dataStorage += utf8(key) + utf8(value));
      return record(key, value, syncCount, now);
    });
    const dataset: DatasetRow = {
      identityId: c.identityId, datasetName: c.datasetName, syncCount, deleted: false,
      lastDeletedAtSyncCount: prev?.lastDeletedAtSyncCount ?? null, createdAt: live ? prev.createdAt : now,
      lastModifiedAt: now, lastModifiedBy: 'tester', numRecords, dataStorage, mergeParent: prev?.mergeParent ?? mergeParent,
    };
    return { dataset, records };
  };
}

export function write(
  store: SyncStore, identityId: string, datasetName: string, values: Record<string, string | null>,
  opts: { poolId?: string; now?: number; mergeParent?: string } = {},
) {
  const c = command(identityId, datasetName, Object.keys(values), { identityPoolId: opts.poolId ?? 'pool-a' });
  return store.writeRecords(c, putPlan(c, values, opts.now, opts.mergeParent));
}

/** The state a plan would see for `c`, without writing anything (the plan aborts). */
export async function peek(store: SyncStore, c: WriteCommand): Promise<DatasetWriteState> {
  const abort = new Error('peek');
  let seen: DatasetWriteState | undefined;
  await expect(store.writeRecords(c, (state) => { seen = state; throw abort; })).rejects.toBe(abort);
  return seen!;
}

/** Reads every page with keyset pagination and returns the keys in order. */
async function collectPages<T, K>(key: (item: T) => K, list: (page: Page<K>) => Promise<T[]>, limit: number): Promise<K[]> {
  const keys: K[] = [];
  let after: K | undefined;
  for (let guard = 0; guard < 1000; guard++) {
    const page = await list(after === undefined ? { limit } : { after, limit });
    expect(page.length).toBeLessThanOrEqual(limit);
    keys.push(...page.map(key));
    if (page.length < limit) return keys;
    after = key(page.at(-1)!);
  }
  throw new Error('pagination did not end');
}
