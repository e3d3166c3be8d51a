/**
 * App edits the local store could not keep are taken back, and only those: not the sync's own edits made meanwhile,
 * not a deletion's restored records, and a conflict whose local side was taken back while the resolver ran is
 * decided again on what is left.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { FaultyStore, createPool, device, sharedServer, twoDevices } from './support.js';
import { LocalStoreError, lastWriterWins, type ConflictResolver } from '../src/index.js';
import { Emitter } from '../src/emitter.js';
import { LocalCopy } from '../src/local-copy.js';
import { DEFAULT_RETRY } from '../src/retry.js';
import { synchronizeDataset } from '../src/sync.js';
import type { Patch, Remote, RemoteListing } from '../src/remote.js';

const t = sharedServer();
let poolId: string;
beforeAll(async () => {
  poolId = await createPool(t);
});

describe('taking back what the store could not keep', () => {
  it('delete() and put() refused in one write: the records come back, and the next sync deletes nothing', async () => {
    const store = new FaultyStore();
    const d = device(t, poolId, { store });
    const ds = await d.client.openDataset('wipe-and-put');
    await ds.put('a', '1');
    await ds.put('b', '2');
    await ds.synchronize();
    store.failing = true;
    const [deleted, put] = await Promise.allSettled([ds.delete(), ds.put('a', 'fresh')]);
    expect([deleted.status, put.status]).toEqual(['rejected', 'rejected']);
    expect(deleted.status === 'rejected' && deleted.reason).toBeInstanceOf(LocalStoreError);
    expect({ values: ds.getAll(), deletion: ds.pendingDeletion() }).toEqual({ values: { a: '1', b: '2' }, deletion: false });
    store.failing = false;
    await ds.synchronize();
    expect(ds.getAll()).toEqual({ a: '1', b: '2' });
  });

  it('an edit taken back while its conflict was with the resolver: the server\'s value is taken, devices agree', async () => {
    const store = new FaultyStore();
    store.holdSuffix = '/undo-conflict';
    let inResolver = () => {};
    const resolver: ConflictResolver = async (c) => {
      inResolver();
      await new Promise((r) => setTimeout(r, 20));
      return lastWriterWins(c);
    };
    const { a, b } = await twoDevices(t, poolId, {}, { store, resolver });
    const da = await a.client.openDataset('undo-conflict');
    await da.put('k', 'A');
    await da.synchronize();
    const db = await b.client.openDataset('undo-conflict');
    await db.synchronize();
    await da.put('k', 'A2');
    await da.synchronize();
    store.holding = true;
    const put = db.put('k', 'B').catch((e: unknown) => e);
    inResolver = () => store.failHeld();
    await db.synchronize();
    expect(await put).toBeInstanceOf(LocalStoreError);
    await db.synchronize();
    await da.synchronize();
    expect({ b: db.get('k'), pending: db.pendingChanges() }).toEqual({ b: 'A2', pending: 0 });
  });

  it('a merged dataset\'s record folded in stays when an app write fails meanwhile, and is pushed', async () => {
    const store = new FaultyStore();
    const copy = await LocalCopy.load(store, 'main');
    const listing = (over: Partial<RemoteListing>): RemoteListing => ({
      records: [], datasetSyncCount: 0, exists: true, deletedAfter: false, mergedDatasetNames: [], sessionToken: 't', ...over,
    });
    let release = () => {};
    const slowListing = new Promise<void>((resolve) => { release = resolve; });
    const pushed: string[] = [];
    let mainListings = 0;
    const remote = {
      counts: { listRecords: 0, updateRecords: 0, deleteDataset: 0 },
      async listAll(name: string) {
        if (name === 'main') return listing({ mergedDatasetNames: mainListings++ === 0 ? ['main.g1', 'main.g2'] : [] });
        if (name === 'main.g1') return listing({ records: [{ key: 'fromGuest', value: 'kept', syncCount: 1, modifiedAt: 1 }] });
        await slowListing;
        return listing({});
      },
      async update(_name: string, _token: string, patches: readonly Patch[]) {
        pushed.push(...patches.map((p) => p.key));
        return patches.map((p) => ({ ...p, syncCount: 1 }));
      },
      async deleteDataset() {},
    } as unknown as Remote;
    const sync = synchronizeDataset({
      datasetName: 'main', copy, remote, events: new Emitter(), isClosed: () => false,
      policies: {
        resolver: lastWriterWins, onRemoteDeleted: 'keep-unsynced', foldMergedDatasets: true, retry: DEFAULT_RETRY,
        now: Date.now, random: Math.random, onListenerError: () => {},
      },
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(copy.record('fromGuest')?.value).toBe('kept');
    store.failing = true;
    copy.appEdit('appKey', 'x', Date.now());
    await expect(copy.persist()).rejects.toBeInstanceOf(LocalStoreError);
    store.failing = false;
    release();
    await sync;
    expect(pushed).toContain('fromGuest');
  });
});
