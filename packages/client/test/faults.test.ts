/**
 * What a device meets besides the server's answers: a link that swallows requests, an answer lost after the server
 * stored the write, a key removed before it was pulled, a local store that cannot write, and app code (resolvers,
 * listeners) that throws. Against the real server.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListRecordsCommand } from '@aws-sdk/client-cognito-sync';
import { FaultyStore, clients, createPool, device, sharedServer, swallowed, twoDevices, type Device } from './support.js';
import {
  InvalidArgumentError, LocalStoreError, MemoryStore, SyncError, lastWriterWins, remoteWins, type ConflictResolver, type LocalStore,
} from '../src/index.js';

const t = sharedServer();
let poolId: string;
let blackhole: Server;
const held: Socket[] = [];

beforeAll(async () => {
  poolId = await createPool(t);
  blackhole = createServer((socket) => { held.push(socket); });
  await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  for (const s of held) s.destroy();
  await new Promise<void>((resolve) => blackhole.close(() => resolve()));
});

const blackholePort = () => (blackhole.address() as { port: number }).port;

describe('a device meets faults', () => {
  it('a request that is never answered is abandoned after requestTimeoutMs and retried; later syncs and close() work', async () => {
    const d = device(t, poolId, { requestTimeoutMs: 150, retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 2 } });
    const ds = await d.client.openDataset('stalled');
    await ds.put('k', 'v');
    d.network.reset();
    // Every request is swallowed: the credentials' first, which the library's client sends for the provider.
    d.network.intercept = (request, _pass, options) => swallowed(request, blackholePort(), options);
    const failure = await ds.synchronize().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(SyncError);
    expect((failure as SyncError).reason).toBe('retries-exhausted');
    expect(d.network.counts.total).toBe(2);

    d.network.intercept = undefined;
    await expect(ds.synchronize()).resolves.toMatchObject({ pushed: ['k'] });
    await expect(d.client.close()).resolves.toBeUndefined();
  });

  it('a push whose answer was lost is recognised as this device\'s own write: no conflict, and an edit made meanwhile stays', async () => {
    const d = device(t, poolId, { resolver: remoteWins });
    const ds = await d.client.openDataset('lost-answer');
    await ds.put('x', '1');
    await ds.synchronize();
    await ds.put('x', '2');
    d.network.intercept = async (request, pass) => {
      const response = await pass();
      if (request.method !== 'POST') return response;
      d.network.intercept = undefined;
      await ds.put('x', '3');
      throw Object.assign(new Error('socket hang up (simulated lost answer)'), { code: 'ECONNRESET' });
    };
    const r = await ds.synchronize();
    expect(r.conflicts).toEqual([]);
    expect(r.pushed).toEqual(['x']);
    expect(ds.get('x')).toBe('3');
    expect(ds.pendingChanges()).toBe(0);

    await d.client.close();
    const other = device(t, poolId, { store: d.store });
    const again = await other.client.openDataset('lost-answer');
    await again.synchronize();
    expect(again.get('x')).toBe('3');
  });

  it('close() during a push: the answer is recorded, and the edit made meanwhile is pushed after a restart', async () => {
    const d = device(t, poolId, { resolver: remoteWins });
    const ds = await d.client.openDataset('close-during-push');
    await ds.put('k', 'v1');
    await ds.synchronize();
    await ds.put('k', 'v2');
    let closing: Promise<void> | undefined;
    d.network.intercept = async (request, pass) => {
      if (request.method !== 'POST') return pass();
      await ds.put('k', 'v3');
      closing = d.client.close();
      return pass();
    };
    // The running sync records the server's answer before close() closes the store.
    await expect(ds.synchronize()).resolves.toMatchObject({ pushed: ['k'] });
    await closing;
    const restarted = device(t, poolId, { store: d.store, resolver: remoteWins });
    const again = await restarted.client.openDataset('close-during-push');
    expect(again.get('k')).toBe('v3');
    const r = await again.synchronize();
    expect({ conflicts: r.conflicts, value: again.get('k'), pending: again.pendingChanges() }).toEqual({ conflicts: [], value: 'v3', pending: 0 });
  });

  it('a crash after the server stored a push: after a restart, its own write is no conflict and the later edit wins', async () => {
    const memory = new MemoryStore();
    let crashed = false;
    // The store of a process that dies: once crashed, nothing more reaches it.
    const store: LocalStore = {
      get: (k) => memory.get(k), delete: (k) => memory.delete(k), keys: (p) => memory.keys(p), close: async () => {},
      set: (k, v) => (crashed ? new Promise<void>(() => {}) : memory.set(k, v)),
    };
    const d = device(t, poolId, { store, resolver: remoteWins });
    const ds = await d.client.openDataset('crash-after-push');
    await ds.put('k', 'v1');
    await ds.synchronize();
    await ds.put('k', 'v2');
    let answered!: () => void;
    const storedOnServer = new Promise<void>((resolve) => { answered = resolve; });
    d.network.intercept = async (request, pass) => {
      if (request.method !== 'POST') return pass();
      await ds.put('k', 'v3');
      const response = await pass();
      crashed = true;
      answered();
      return response;
    };
    void ds.synchronize();
    await storedOnServer;
    const restarted = device(t, poolId, { store: { ...store, set: (k, v) => memory.set(k, v) }, resolver: remoteWins });
    const again = await restarted.client.openDataset('crash-after-push');
    expect({ value: again.get('k'), pending: again.pendingChanges() }).toEqual({ value: 'v3', pending: 1 });
    const r = await again.synchronize();
    expect({ conflicts: r.conflicts, value: again.get('k'), pending: again.pendingChanges() }).toEqual({ conflicts: [], value: 'v3', pending: 0 });
  });

  it('a deletion whose answer was lost is not sent again over data other devices wrote since', async () => {
    const { a, b, id } = await twoDevices(t, poolId);
    const da = await a.client.openDataset('delete-lost-answer');
    const db = await b.client.openDataset('delete-lost-answer');
    await da.put('old', 'x');
    await da.synchronize();
    await db.synchronize();
    await da.delete();
    loseAnswer(a, 'DELETE', true);
    await expect(da.synchronize()).rejects.toMatchObject({ reason: 'retries-exhausted' });
    expect(da.pendingDeletion()).toBe(true);
    await expect(db.synchronize()).resolves.toMatchObject({ remoteDeleted: true });
    await db.put('new', 'written after the deletion');
    await db.synchronize();

    a.network.online = true;
    const r = await da.synchronize();
    expect({ deletes: r.requests.deleteDataset, pending: da.pendingDeletion(), a: da.getAll() })
      .toEqual({ deletes: 0, pending: false, a: { new: 'written after the deletion' } });
    const server = await clients(t).sync.send(new ListRecordsCommand({ IdentityPoolId: poolId, IdentityId: id, DatasetName: 'delete-lost-answer' }));
    expect((server.Records ?? []).map((x) => [x.Key, x.Value])).toEqual([['new', 'written after the deletion']]);
  });

  it('a deletion that never reached the server is sent again, though another device deleted the dataset before it', async () => {
    const { a, b, id } = await twoDevices(t, poolId);
    const da = await a.client.openDataset('delete-after-other');
    const db = await b.client.openDataset('delete-after-other');
    await da.put('old', 'x');
    await da.synchronize();
    await db.synchronize();
    // B deletes and re-creates the dataset; A, not synced since, deletes it too, and its request is lost unsent.
    await db.delete();
    await db.synchronize();
    await db.put('y', 'written by b after its deletion');
    await db.synchronize();
    await da.delete();
    loseAnswer(a, 'DELETE', false);
    await expect(da.synchronize()).rejects.toMatchObject({ reason: 'retries-exhausted' });

    a.network.online = true;
    const r = await da.synchronize();
    expect({ deletes: r.requests.deleteDataset, pending: da.pendingDeletion(), a: da.getAll() }).toEqual({ deletes: 1, pending: false, a: {} });
    const server = await clients(t).sync.send(new ListRecordsCommand({ IdentityPoolId: poolId, IdentityId: id, DatasetName: 'delete-after-other' }));
    expect({ exists: server.DatasetExists, records: server.Records }).toEqual({ exists: false, records: [] });
  });

  it('a deletion that may not have reached the server is sent again when nothing happened since', async () => {
    const d = device(t, poolId);
    const ds = await d.client.openDataset('delete-lost-request');
    await ds.put('old', 'x');
    await ds.synchronize();
    await ds.delete();
    loseAnswer(d, 'DELETE', false);
    await expect(ds.synchronize()).rejects.toMatchObject({ reason: 'retries-exhausted' });
    d.network.online = true;
    const r = await ds.synchronize();
    expect({ deletes: r.requests.deleteDataset, pending: ds.pendingDeletion() }).toEqual({ deletes: 1, pending: false });
    const server = await clients(t).sync.send(new ListRecordsCommand({ IdentityPoolId: poolId, IdentityId: await d.client.identityId(), DatasetName: 'delete-lost-request' }));
    expect({ exists: server.DatasetExists, records: server.Records }).toEqual({ exists: false, records: [] });
  });

  it('removing a key this device has not pulled yet removes it everywhere', async () => {
    const { a, b } = await twoDevices(t, poolId, { resolver: lastWriterWins }, { resolver: lastWriterWins });
    const da = await a.client.openDataset('remove-unpulled');
    await da.put('x', '1');
    await da.synchronize();
    const db = await b.client.openDataset('remove-unpulled');
    await new Promise((r) => setTimeout(r, 5));
    await db.remove('x');
    expect(db.pendingChanges()).toBe(1);
    await db.synchronize();
    await da.synchronize();
    expect(da.getAll()).toEqual({});
    expect(db.getAll()).toEqual({});
  });

  it('a change the local store cannot keep is not made, and a sync that cannot save fails at once as local-failure', async () => {
    const store = new FaultyStore();
    const d = device(t, poolId, { store, retry: { attempts: 4, baseDelayMs: 1, maxDelayMs: 2 } });
    const ds = await d.client.openDataset('full-disk');
    await ds.put('kept', '1');
    store.failing = true;
    await expect(ds.put('lost', '2')).rejects.toBeInstanceOf(LocalStoreError);
    await expect(ds.remove('kept')).rejects.toBeInstanceOf(LocalStoreError);
    await expect(ds.delete()).rejects.toBeInstanceOf(LocalStoreError);
    expect(ds.getAll()).toEqual({ kept: '1' });
    expect({ changes: ds.pendingChanges(), deletion: ds.pendingDeletion() }).toEqual({ changes: 1, deletion: false });

    d.network.reset();
    const failure = await ds.synchronize().catch((e: unknown) => e);
    expect((failure as SyncError).reason).toBe('local-failure');
    expect((failure as SyncError).cause).toBeInstanceOf(LocalStoreError);
    expect(d.network.counts.ListRecords).toBe(1);

    store.failing = false;
    await expect(ds.synchronize()).resolves.toMatchObject({ pushed: ['kept'] });
  });

  it('a resolver that throws fails the sync at once as local-failure, and the next sync can settle the conflict', async () => {
    let calls = 0;
    let broken = true;
    const resolver: ConflictResolver = (c) => {
      calls++;
      if (broken) throw new TypeError('resolver bug');
      return lastWriterWins(c);
    };
    const { a, b } = await twoDevices(t, poolId, { resolver }, { resolver });
    const da = await a.client.openDataset('throwing-resolver');
    const db = await b.client.openDataset('throwing-resolver');
    await da.put('k', 'a');
    await db.put('k', 'b');
    await da.synchronize();
    const failure = await db.synchronize().catch((e: unknown) => e);
    expect((failure as SyncError).reason).toBe('local-failure');
    expect((failure as SyncError).message).toMatch(/conflict resolver \(key k\) threw: resolver bug/);
    expect(calls).toBe(1);
    broken = false;
    await expect(db.synchronize()).resolves.toMatchObject({ conflicts: [expect.objectContaining({ key: 'k' })] });
  });

  it('a resolver or onRemoteDeleted answering outside its type fails the sync as local-failure, naming the answer', async () => {
    const answers: Array<[unknown, RegExp]> = [
      [undefined, /answered undefined/],
      [{ use: 'value', value: 5 }, /answered \{"use":"value","value":5\}/],
      [{ use: 'theirs' }, /answered \{"use":"theirs"\}/],
    ];
    for (const [answer, message] of answers) {
      const resolver = (() => answer) as unknown as ConflictResolver;
      const { a, b } = await twoDevices(t, poolId, {}, { resolver });
      const da = await a.client.openDataset('bad-resolution');
      const db = await b.client.openDataset('bad-resolution');
      await da.put('k', 'a');
      await db.put('k', 'b');
      await da.synchronize();
      b.network.reset();
      const failure = await db.synchronize().catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(SyncError);
      expect({ reason: (failure as SyncError).reason, lists: b.network.counts.ListRecords }).toEqual({ reason: 'local-failure', lists: 1 });
      expect((failure as SyncError).message).toMatch(/the conflict resolver \(key k\) answered/);
      expect((failure as SyncError).message).toMatch(message);
      expect({ value: db.get('k'), pending: db.pendingChanges() }).toEqual({ value: 'b', pending: 1 });
    }

    const keep = (() => 'keep') as unknown as () => 'keep-all';
    const { a, b } = await twoDevices(t, poolId, {}, { onRemoteDeleted: keep });
    const da = await a.client.openDataset('bad-policy');
    const db = await b.client.openDataset('bad-policy');
    await da.put('k', '1');
    await da.synchronize();
    await db.synchronize();
    await da.delete();
    await da.synchronize();
    const failure = await db.synchronize().catch((e: unknown) => e);
    expect((failure as SyncError).reason).toBe('local-failure');
    expect((failure as SyncError).message).toMatch(/the onRemoteDeleted function answered "keep"/);
    expect(db.getAll()).toEqual({ k: '1' });
    const option = { onRemoteDeleted: 'keep' as 'keep-all' };
    expect(() => device(t, poolId, option)).toThrow(InvalidArgumentError);
    expect(() => device(t, poolId, option)).toThrow(/the onRemoteDeleted option is "keep", not one of/);
  });

  it('a listener that throws is reported to onListenerError and stops neither the sync nor other listeners', async () => {
    const reported: Array<{ event: string; message: string }> = [];
    const d = device(t, poolId, { onListenerError: (e, event) => reported.push({ event, message: (e as Error).message }) });
    const ds = await d.client.openDataset('throwing-listener');
    let others = 0;
    ds.on('synced', () => { throw new Error('listener bug'); });
    ds.on('synced', () => { others++; });
    await ds.put('k', 'v');
    await expect(ds.synchronize()).resolves.toMatchObject({ pushed: ['k'] });
    expect(reported).toEqual([{ event: 'synced', message: 'listener bug' }]);
    expect(others).toBe(1);
  });
});

/**
 * The next `method` request of `d` fails as a connection reset, after the server handled it (`reached`) or before
 * it was sent, and the device goes offline: the answer is lost, whatever the server did.
 */
function loseAnswer(d: Device, method: string, reached: boolean): void {
  d.network.intercept = async (request, pass) => {
    if (request.method !== method) return pass();
    if (reached) await pass();
    d.network.intercept = undefined;
    d.network.online = false;
    throw Object.assign(new Error('socket hang up (simulated lost answer)'), { code: 'ECONNRESET' });
  };
}
