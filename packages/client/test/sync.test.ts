/** synchronize() against the real server: pull, push, empty strings, removes, conflicts, offline, request counts. */
import { beforeAll, describe, expect, it } from 'vitest';
import { ListRecordsCommand } from '@aws-sdk/client-cognito-sync';
import { clients, createPool, device, sharedServer, twoDevices as twoDevicesOf } from './support.js';
import {
  InvalidArgumentError, MemoryStore, SyncError, remoteWins, type ConflictResolver, type CosyncClientOptions, type DatasetSnapshot,
} from '../src/index.js';

const t = sharedServer();
let poolId: string;

beforeAll(async () => {
  poolId = await createPool(t);
});

const twoDevices = (aOptions: Partial<CosyncClientOptions> = {}, bOptions: Partial<CosyncClientOptions> = {}) =>
  twoDevicesOf(t, poolId, aOptions, bOptions);

describe('synchronize()', () => {
  it('pushes local changes and pulls them on another device, empty strings and removes included', async () => {
    const { a, b, id } = await twoDevices();
    const da = await a.client.openDataset('settings');
    await da.put('theme', 'dark');
    await da.put('empty', '');
    await da.put('gone', 'soon');
    const first = await da.synchronize();
    expect(first.pushed.sort()).toEqual(['empty', 'gone', 'theme']);
    await da.remove('gone');
    await da.synchronize();

    const db = await b.client.openDataset('settings');
    const pulled = await db.synchronize();
    expect(pulled.pulled.sort()).toEqual(['empty', 'theme']);
    expect(db.getAll()).toEqual({ theme: 'dark', empty: '' });
    expect(db.get('empty')).toBe('');
    expect(db.size()).toBe(2);

    const server = await clients(t).sync.send(new ListRecordsCommand({ IdentityPoolId: poolId, IdentityId: id, DatasetName: 'settings' }));
    const byKey = Object.fromEntries((server.Records ?? []).map((r) => [r.Key, r.Value ?? null]));
    expect(byKey).toEqual({ theme: 'dark', empty: '', gone: null });
  });

  it('resolves a conflict by last writer wins and both devices converge', async () => {
    let clock = Date.UTC(2026, 0, 1);
    const now = () => (clock += 1000);
    const { a, b } = await twoDevices({ now }, { now });
    const da = await a.client.openDataset('game');
    const db = await b.client.openDataset('game');
    await da.put('score', '1');
    await da.synchronize();
    await db.synchronize();
    // Both change the same key offline; b writes later.
    await da.put('score', 'from-a');
    await da.put('level', '7');
    await da.put('name', '');
    await db.put('score', 'from-b');
    await da.synchronize();
    const r = await db.synchronize();
    expect(r.conflicts).toHaveLength(1);
    expect(r.conflicts[0]?.resolution).toEqual({ use: 'local' });
    // The records that arrived with the conflict in the same listing are all taken.
    expect(r.pulled.sort()).toEqual(['level', 'name']);
    await da.synchronize();
    const expected = { score: 'from-b', level: '7', name: '' };
    expect(da.getAll()).toEqual(expected);
    expect(db.getAll()).toEqual(expected);
  });

  it('keeps local changes while offline and pushes them when back online', async () => {
    const { a, b } = await twoDevices();
    const da = await a.client.openDataset('offline');
    a.network.online = false;
    await da.put('k', 'written offline');
    const failure = await da.synchronize().then(() => undefined, (e: unknown) => e);
    expect(failure).toBeInstanceOf(SyncError);
    expect((failure as SyncError).reason).toBe('retries-exhausted');
    expect(da.pendingChanges()).toBe(1);
    a.network.online = true;
    const r = await da.synchronize();
    expect(r.pushed).toEqual(['k']);
    const db = await b.client.openDataset('offline');
    await db.synchronize();
    expect(db.get('k')).toBe('written offline');
  });

  it('a clean push of 1,000 records costs one ListRecords and one UpdateRecords', async () => {
    const a = device(t, poolId);
    const ds = await a.client.openDataset('bulk');
    await Promise.all(Array.from({ length: 1000 }, (_, i) => ds.put(`k${i}`, `v${i}`)));
    a.network.reset();
    const r = await ds.synchronize();
    expect(r.pushed).toHaveLength(1000);
    expect({ list: a.network.counts.ListRecords, update: a.network.counts.UpdateRecords }).toEqual({ list: 1, update: 1 });
    expect(r.requests).toEqual({ listRecords: 1, updateRecords: 1, deleteDataset: 0 });
  });

  it('honours a custom resolver', async () => {
    const { a, b } = await twoDevices({ resolver: () => ({ use: 'value', value: 'merged' }) });
    const da = await a.client.openDataset('custom');
    await da.put('x', 'a1');
    await da.synchronize();
    const db = await b.client.openDataset('custom');
    await db.synchronize();
    await db.put('x', 'b1');
    await db.synchronize();
    await da.put('x', 'a2');
    const seen: string[] = [];
    da.on('conflict', (c) => seen.push(`${c.key}:${c.local.value}/${c.remote.value}`));
    await da.synchronize();
    expect(seen).toEqual(['x:a2/b1']);
    await db.synchronize();
    expect([da.get('x'), db.get('x')]).toEqual(['merged', 'merged']);
  });

  it('applies the remote-deletion policy and tells listeners: by default unsynced changes survive', async () => {
    const { a, b } = await twoDevices();
    const da = await a.client.openDataset('deleted');
    await da.put('synced', '1');
    await da.put('other', '2');
    await da.synchronize();
    const db = await b.client.openDataset('deleted');
    await db.synchronize();
    await db.put('unsynced', 'kept');
    await da.delete();
    expect(da.getAll()).toEqual({});
    await da.synchronize();

    const events: string[] = [];
    db.on('remoteDeleted', (e) => events.push(`${e.datasetName}:${e.policy}`));
    const r = await db.synchronize();
    expect(r.remoteDeleted).toBe(true);
    expect(events).toEqual(['deleted:keep-unsynced']);
    expect(db.getAll()).toEqual({ unsynced: 'kept' });
    await da.synchronize();
    expect(da.getAll()).toEqual({ unsynced: 'kept' });
  });

  it('drops everything on a remote deletion with the delete policy', async () => {
    const { a, id } = await twoDevices();
    const store = new MemoryStore();
    await store.set(`cosync/${poolId}/identity`, { format: 1, identityId: id, authenticated: false });
    const c = device(t, poolId, { store, onRemoteDeleted: 'delete' });
    const da = await a.client.openDataset('dropped');
    await da.put('k', 'v');
    await da.synchronize();
    const dc = await c.client.openDataset('dropped');
    await dc.synchronize();
    await dc.put('unsynced', 'lost on purpose');
    await da.delete();
    await da.synchronize();
    const r = await dc.synchronize();
    expect(r.remoteDeleted).toBe(true);
    expect(dc.getAll()).toEqual({});
  });

  it('keeps an edit made while an async resolver is deciding, over both conflicting values', async () => {
    let release!: () => void;
    let asked!: () => void;
    const deciding = new Promise<void>((resolve) => { release = resolve; });
    const resolverCalled = new Promise<void>((resolve) => { asked = resolve; });
    const slowRemoteWins: ConflictResolver = async (c) => {
      asked();
      await deciding;
      return remoteWins(c);
    };
    const { a, b } = await twoDevices({ resolver: slowRemoteWins });
    const da = await a.client.openDataset('slow-resolver');
    const db = await b.client.openDataset('slow-resolver');
    await da.put('x', 'base');
    await da.synchronize();
    await db.synchronize();
    await db.put('x', 'from-b');
    await db.synchronize();
    await da.put('x', 'from-a');
    const sync = da.synchronize();
    await resolverCalled;
    await da.put('x', 'typed during the sync');
    release();
    const r = await sync;
    expect(r.conflicts).toHaveLength(1);
    expect(da.get('x')).toBe('typed during the sync');
    await da.synchronize();
    await db.synchronize();
    expect(db.get('x')).toBe('typed during the sync');
  });
});

describe('arguments the server could never accept', () => {
  it('a key or value with a lone UTF-16 surrogate is refused at once, and syncs go on', async () => {
    const d = device(t, poolId);
    const ds = await d.client.openDataset('ill-formed');
    await ds.put('good', 'value \u{1F600}');
    const refusals = async () => {
      await expect(ds.put('bad\ud800', 'x')).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(ds.put('\udc00bad', 'x')).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(ds.remove('bad\ud800')).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(ds.put('k', 'v\udfff')).rejects.toThrow(/lone UTF-16 surrogate/);
    };
    await refusals();
    // Without String.prototype.isWellFormed (engines before ES2024) the same strings are refused.
    const native = Reflect.get(String.prototype, 'isWellFormed') as unknown;
    Reflect.deleteProperty(String.prototype, 'isWellFormed');
    try {
      await refusals();
      await ds.put('pair', '\ud83d\ude00');
    } finally {
      Reflect.set(String.prototype, 'isWellFormed', native);
    }
    expect(ds.pendingChanges()).toBe(2);
    await expect(ds.synchronize()).resolves.toMatchObject({ pushed: ['good', 'pair'] });
    expect(ds.getAll()).toEqual({ good: 'value \u{1F600}', pair: '\u{1F600}' });
  });
});

describe('an argument refused', () => {
  it('is named in the message cut to 100 characters, with its length', async () => {
    const ds = await device(t, poolId).client.openDataset('long-key');
    const key = 'k'.repeat(5000);
    const failure = await ds.put(key, 'v').catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(InvalidArgumentError);
    const message = (failure as Error).message;
    expect(message).toContain(`"${'k'.repeat(100)}"… (5000 characters)`);
    expect(message.length).toBeLessThan(250);
    await expect(ds.remove(`${'x'.repeat(200)}\ud800`)).rejects.toThrow(/lone UTF-16 surrogate: "x{100}"… \(201 characters\)/);
  });
});

describe('a server restored from an older backup', () => {
  it('keeps the removals made here: a key removed before the recovery stays removed', async () => {
    const store = new MemoryStore();
    const d = device(t, poolId, { store });
    const ds = await d.client.openDataset('restored');
    await ds.put('keep', '1');
    await ds.put('gone', 'to be removed');
    await ds.synchronize();
    await ds.synchronize();
    await ds.remove('gone');
    const id = await d.client.identityId();
    await d.client.close();
    // The device has seen sync counts the server no longer has (what a restore from a backup leaves).
    const key = `cosync/${poolId}/${id}/restored`;
    const snapshot = (await store.get(key)) as DatasetSnapshot;
    await store.set(key, { ...snapshot, lastSyncCount: snapshot.lastSyncCount + 5 });

    const restarted = device(t, poolId, { store });
    const again = await restarted.client.openDataset('restored');
    const r = await again.synchronize();
    expect(r.retries).toBeGreaterThan(0);
    expect({ local: again.getAll(), pending: again.pendingChanges() }).toEqual({ local: { keep: '1' }, pending: 0 });
    const server = await clients(t).sync.send(new ListRecordsCommand({ IdentityPoolId: poolId, IdentityId: id, DatasetName: 'restored' }));
    expect(Object.fromEntries((server.Records ?? []).map((x) => [x.Key, x.Value ?? null]))).toEqual({ keep: '1', gone: null });
  });
});

describe('localDatasets()', () => {
  it('drops a dataset once its deletion reached the server, and lists it again when written again', async () => {
    const d = device(t, poolId);
    const gone = await d.client.openDataset('deleted-locally');
    const kept = await d.client.openDataset('kept-locally');
    await gone.put('k', 'v');
    await kept.put('k', 'v');
    await gone.synchronize();
    await gone.delete();
    expect(await d.client.localDatasets()).toEqual(['deleted-locally', 'kept-locally']);
    await gone.synchronize();
    expect(await d.client.localDatasets()).toEqual(['kept-locally']);
    await gone.put('k', 'again');
    expect(await d.client.localDatasets()).toEqual(['deleted-locally', 'kept-locally']);
    await gone.synchronize();
    expect(gone.getAll()).toEqual({ k: 'again' });
  });
});

describe('SyncResult', () => {
  it('lists a key once in pulled, even when a retried round pulled it again', async () => {
    const { a, b } = await twoDevices();
    const da = await a.client.openDataset('pulled-once');
    const db = await b.client.openDataset('pulled-once');
    await db.put('a', '1');
    await db.synchronize();
    await da.put('x', 'from a');
    // Between a's listing and its push, b changes 'a' and writes 'x': the push meets a 409 and a lists again.
    a.network.intercept = async (request, pass) => {
      if (request.method !== 'POST' || !request.path.includes('/datasets/')) return pass();
      a.network.intercept = undefined;
      await db.put('a', '2');
      await db.put('x', 'from b');
      await db.synchronize();
      return pass();
    };
    const r = await da.synchronize();
    expect(r.retries).toBe(1);
    expect(r.pulled.filter((k) => k === 'a')).toEqual(['a']);
    expect(da.get('a')).toBe('2');
  });
});

describe('a synced removal', () => {
  it('keeps its tombstone, whose sync count a later put of the key names: no conflict with the old removal', async () => {
    const { a, b } = await twoDevices({ resolver: remoteWins }, { resolver: remoteWins });
    const da = await a.client.openDataset('tombstone');
    await da.put('k', 'v1');
    await da.synchronize();
    await da.remove('k');
    await da.synchronize();
    await da.synchronize();
    await da.put('k', 'v2');
    const r = await da.synchronize();
    expect({ conflicts: r.conflicts, value: da.get('k'), pending: da.pendingChanges() }).toEqual({ conflicts: [], value: 'v2', pending: 0 });
    const db = await b.client.openDataset('tombstone');
    await db.synchronize();
    expect(db.getAll()).toEqual({ k: 'v2' });
  });
});
