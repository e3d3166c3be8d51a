/**
 * amazon-cognito-js 1.1.0 (the Cognito Sync Manager for JavaScript) end to end against the real server, as
 * WIRE §4 describes it under Node: two simulated devices of one identity, each with its own in-memory local
 * store, synchronizing one dataset. Most tests give the manager's CognitoIdentityCredentials the developer test
 * credentials (never refreshed), so that another writer can be slipped in; the last describe gets real identity
 * credentials through GetId and GetCredentialsForIdentity.
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListRecordsCommand } from '@aws-sdk/client-cognito-sync';
import { put, write } from '../api/sync-helpers.js';
import { clients, poolWithIdentity, startServer, type TestServer } from '../helpers/server.js';

process.env['AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE'] = '1';
const require = createRequire(import.meta.url);
const AWS = require('aws-sdk') as typeof import('aws-sdk') & { CognitoSyncManager: SyncManagerClass };
require('amazon-cognito-js');

// The parts of amazon-cognito-js used here (it ships no types).
interface SyncRecord { getKey(): string; getValue(): string; getSyncCount(): number }
interface SyncConflict {
  getKey(): string;
  getRemoteRecord(): SyncRecord;
  getLocalRecord(): SyncRecord;
  resolveWithRemoteRecord(): SyncRecord;
  resolveWithLocalRecord(): SyncRecord;
}
type Next = (proceed: boolean) => void;
interface SyncCallbacks {
  onSuccess(dataset: Dataset, updates: unknown): void;
  onFailure(err: Error): void;
  onConflict(dataset: Dataset, conflicts: SyncConflict[], next: Next): void;
  onDatasetDeleted(dataset: Dataset, name: string, next: Next): void;
  onDatasetsMerged(dataset: Dataset, names: string[], next: Next): void;
}
interface Dataset {
  put(key: string, value: string, cb: (err: Error | null, record: SyncRecord) => void): void;
  remove(key: string, cb: (err: Error | null, record: SyncRecord) => void): void;
  get(key: string, cb: (err: Error | null, value: string | undefined) => void): void;
  getAll(cb: (err: Error | null, values: Record<string, string>) => void): void;
  resolve(records: SyncRecord[], cb: (err: Error | null) => void): void;
  synchronize(callbacks: SyncCallbacks): void;
}
interface SyncManager { openOrCreateDataset(name: string, cb: (err: Error | null, dataset: Dataset) => void): void }
interface SyncManagerClass {
  new (options: { DataStore: unknown; log?: (...args: unknown[]) => void }): SyncManager;
  StoreInMemory: unknown;
}

let t: TestServer;
let poolId: string;
let identityId: string;

/** Every Cognito Sync request the manager sends (through aws-sdk v2's global event hooks). */
interface SentRequest { operation: string; path: string; body: string }
const sent: SentRequest[] = [];
/** Runs once before the next UpdateRecords goes out: lets a test slip another device's write in between. */
let beforeNextUpdate: (() => Promise<void>) | undefined;
interface V2Request { operation: string; httpRequest: { path: string; body: unknown } }
const events = (AWS as unknown as { events: unknown }).events as {
  on(event: 'send', listener: (response: { request: V2Request }) => void): void;
  onAsync(event: 'validate', listener: (request: V2Request, done: (err?: Error) => void) => void): void;
};
events.on('send', ({ request }) => {
  sent.push({ operation: request.operation, path: request.httpRequest.path, body: String(request.httpRequest.body ?? '') });
});
events.onAsync('validate', (request, done) => {
  const hook = beforeNextUpdate;
  if (request.operation !== 'updateRecords' || !hook) return done();
  beforeNextUpdate = undefined;
  hook().then(() => done(), done);
});

beforeAll(async () => {
  t = await startServer();
  ({ poolId, identityId } = await poolWithIdentity(t));

  AWS.config.region = t.region;
  // The manager's remote store builds `new AWS.CognitoSync()` without arguments: the endpoint is global.
  (AWS.config as unknown as { cognitosync: object }).cognitosync = { endpoint: t.endpoint, maxRetries: 0 };
  const credentials = new AWS.CognitoIdentityCredentials(
    { IdentityPoolId: poolId, IdentityId: identityId },
    // The identity endpoint goes in the client configuration (the v2 types leave `endpoint` out of it).
    { endpoint: t.endpoint, region: t.region } as AWS.ConfigurationOptions,
  );
  credentials.identityId = identityId;
  credentials.accessKeyId = t.credentials.accessKeyId;
  credentials.secretAccessKey = t.credentials.secretAccessKey;
  credentials.sessionToken = undefined as unknown as string;
  credentials.expired = false;
  credentials.expireTime = new Date(Date.now() + 3600_000);
  credentials.refresh = (cb: (err?: AWS.AWSError) => void) => cb();
  AWS.config.credentials = credentials;
});
afterAll(() => t.close());

/** One simulated device: its own Sync Manager with its own (in-memory) local store. */
async function device(datasetName: string) {
  const manager = new AWS.CognitoSyncManager({ DataStore: AWS.CognitoSyncManager.StoreInMemory });
  const dataset = await new Promise<Dataset>((resolve, reject) =>
    manager.openOrCreateDataset(datasetName, (err, ds) => (err ? reject(err) : resolve(ds))));
  const cb = <T>(fn: (done: (err: Error | null, value: T) => void) => void) =>
    new Promise<T>((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))));
  return {
    put: (key: string, value: string) => cb<SyncRecord>((done) => dataset.put(key, value, done)),
    remove: (key: string) => cb<SyncRecord>((done) => dataset.remove(key, done)),
    get: (key: string) => cb<string | undefined>((done) => dataset.get(key, done)),
    getAll: () => cb<Record<string, string>>((done) => dataset.getAll(done)),
    /**
     * dataset.synchronize; resolves on onSuccess, rejects on onFailure. `onConflict` decides what to do with
     * conflicts (default: refuse, as the library does); every conflict seen is recorded.
     */
    async sync(onConflict?: (conflicts: SyncConflict[]) => SyncRecord[] | undefined) {
      const conflicts: SyncConflict[][] = [];
      await new Promise<void>((resolve, reject) => {
        dataset.synchronize({
          onSuccess: () => resolve(),
          onFailure: (err) => reject(err),
          onConflict: (ds, found, next) => {
            conflicts.push(found);
            const resolved = onConflict?.(found);
            if (!resolved) return next(false);
            ds.resolve(resolved, (err) => (err ? reject(err) : next(true)));
          },
          onDatasetDeleted: (_ds, _name, next) => next(false),
          onDatasetsMerged: (_ds, _names, next) => next(false),
        });
      });
      return conflicts;
    },
  };
}

const serverRecords = async (dataset: string) => {
  const out = await clients(t).sync.send(new ListRecordsCommand({ IdentityPoolId: poolId, IdentityId: identityId, DatasetName: dataset }));
  return Object.fromEntries((out.Records ?? []).map((r) => [r.Key, { value: r.Value, syncCount: r.SyncCount }]));
};

describe('amazon-cognito-js Sync Manager, two devices of one identity', () => {
  it('A puts and syncs; B syncs and sees the value', async () => {
    const a = await device('settings');
    const b = await device('settings');
    await a.put('color', 'red');
    await a.put('size', 'L');
    expect(await a.sync()).toEqual([]);
    expect(await serverRecords('settings')).toEqual({ color: { value: 'red', syncCount: 1 }, size: { value: 'L', syncCount: 1 } });

    await b.sync();
    expect(await b.getAll()).toEqual({ color: 'red', size: 'L' });
    // Syncing again with nothing to do changes nothing.
    await a.sync();
    await b.sync();
    expect(await serverRecords('settings')).toEqual({ color: { value: 'red', syncCount: 1 }, size: { value: 'L', syncCount: 1 } });
  });

  it('both edit the same key: the second to sync gets onConflict; resolving with the remote record converges', async () => {
    const a = await device('conflict_remote');
    const b = await device('conflict_remote');
    await a.put('color', 'red');
    await a.sync();
    await b.sync();

    await a.put('color', 'blue');
    await b.put('color', 'green');
    await a.sync();
    const conflicts = await b.sync((found) => found.map((c) => c.resolveWithRemoteRecord()));
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0]?.map((c) => [c.getKey(), c.getRemoteRecord().getValue(), c.getLocalRecord().getValue()]))
      .toEqual([['color', 'blue', 'green']]);

    expect(await b.get('color')).toBe('blue');
    await a.sync();
    expect(await a.get('color')).toBe('blue');
    expect(await serverRecords('conflict_remote')).toEqual({ color: { value: 'blue', syncCount: 2 } });
  });

  it('resolving with the local record pushes it over the remote one; the other device then gets it', async () => {
    const a = await device('conflict_local');
    const b = await device('conflict_local');
    await a.put('level', '1');
    await a.sync();
    await b.sync();

    await a.put('level', '2');
    await b.put('level', '3');
    await a.sync();
    const conflicts = await b.sync((found) => found.map((c) => c.resolveWithLocalRecord()));
    expect(conflicts.flat().map((c) => c.getKey())).toEqual(['level']);
    expect(await serverRecords('conflict_local')).toEqual({ level: { value: '3', syncCount: 3 } });

    await a.sync();
    expect(await a.get('level')).toBe('3');
    expect(await b.get('level')).toBe('3');
  });

  it('a conflict the callback refuses fails the sync and leaves the server as it was', async () => {
    const a = await device('conflict_refused');
    const b = await device('conflict_refused');
    await a.put('k', 'a');
    await a.sync();
    await b.put('k', 'b');
    await expect(b.sync()).rejects.toThrow('Sync cancelled. Conflict callback returned false.');
    expect(await serverRecords('conflict_refused')).toEqual({ k: { value: 'a', syncCount: 1 } });
  });

  it('edits of different keys merge without conflict', async () => {
    const a = await device('merge');
    const b = await device('merge');
    await a.put('x', '1');
    await b.put('y', '2');
    await a.sync();
    expect(await b.sync()).toEqual([]);
    await a.sync();
    expect(await a.getAll()).toEqual({ x: '1', y: '2' });
    expect(await b.getAll()).toEqual({ x: '1', y: '2' });
  });

  it('a removal propagates (Op remove with Value ""); the other device sees an empty string (WIRE §4.10)', async () => {
    const a = await device('removal');
    const b = await device('removal');
    await a.put('keep', 'k');
    await a.put('gone', 'g');
    await a.sync();
    await b.sync();
    expect(await b.get('gone')).toBe('g');

    await a.remove('gone');
    await a.sync();
    const onServer = await serverRecords('removal');
    expect(onServer['gone']).toEqual({ value: undefined, syncCount: 2 });
    expect(onServer['keep']).toEqual({ value: 'k', syncCount: 1 });

    await b.sync();
    expect(await b.getAll()).toEqual({ keep: 'k', gone: '' });
    expect(await a.getAll()).toEqual({ keep: 'k', gone: '' });
  });

  it('sends what WIRE §4 recorded: ListRecords with lastSyncCount and maxResults=1024, then one UpdateRecords', async () => {
    const a = await device('wire_shape');
    await a.put('k', 'v');
    sent.length = 0;
    await a.sync();
    expect(sent.map((r) => r.operation)).toEqual(['listRecords', 'updateRecords']);
    expect(sent[0]?.path).toMatch(/\/datasets\/wire_shape\/records\?lastSyncCount=0&maxResults=1024$/);
    const body = JSON.parse(sent[1]?.body ?? '{}') as { SyncSessionToken?: string; RecordPatches?: Array<Record<string, unknown>> };
    expect(body.SyncSessionToken).toBeTruthy();
    expect(body.RecordPatches).toEqual([
      { Key: 'k', Op: 'replace', SyncCount: 0, DeviceLastModifiedDate: expect.any(Number), Value: 'v' },
    ]);
    await a.remove('k');
    sent.length = 0;
    await a.sync();
    expect(sent[0]?.path).toMatch(/lastSyncCount=1&maxResults=1024$/);
    expect(JSON.parse(sent[1]?.body ?? '{}')).toMatchObject({ RecordPatches: [{ Key: 'k', Op: 'remove', SyncCount: 1, Value: '' }] });
  });

  it('a 409 on the push (another device wrote in between) makes the manager start over and meet the conflict', async () => {
    const a = await device('race');
    await a.put('k', 'from-a');
    beforeNextUpdate = async () => {
      await write(clients(t).sync, { poolId, identityId, dataset: 'race' }, [put('k', 'from-c')]);
    };
    sent.length = 0;
    const conflicts = await a.sync((found) => found.map((c) => c.resolveWithLocalRecord()));
    expect(beforeNextUpdate).toBeUndefined();
    expect(conflicts.flat().map((c) => [c.getKey(), c.getRemoteRecord().getValue(), c.getLocalRecord().getValue()]))
      .toEqual([['k', 'from-c', 'from-a']]);
    // listRecords, updateRecords (409), listRecords (conflict), updateRecords (resolved), listRecords, done.
    expect(sent.map((r) => r.operation)).toEqual(['listRecords', 'updateRecords', 'listRecords', 'updateRecords', 'listRecords']);
    expect(await serverRecords('race')).toEqual({ k: { value: 'from-a', syncCount: 2 } });
  });
});

// Last in the file: it replaces the global credentials the tests above use.
describe('amazon-cognito-js Sync Manager with identity credentials (CognitoIdentityCredentials, enhanced flow)', () => {
  let guestId = '';
  beforeAll(async () => {
    // GetId, then GetCredentialsForIdentity, both through aws-sdk v2 against the server; every sync call is then
    // signed with the identity's temporary credentials and X-Amz-Security-Token.
    const credentials = new AWS.CognitoIdentityCredentials(
      { IdentityPoolId: poolId }, { endpoint: t.endpoint, region: t.region } as AWS.ConfigurationOptions,
    );
    await credentials.getPromise();
    guestId = credentials.identityId;
    expect(guestId).toMatch(/^us-east-1:/);
    expect(credentials.sessionToken).toBeTruthy();
    AWS.config.credentials = credentials;
  });

  it('two devices of a guest sync through the manager; the server records the identity as the writer', async () => {
    const a = await device('guest_notes');
    await a.put('note', 'from A');
    await a.sync();
    const b = await device('guest_notes');
    await b.sync();
    expect(await b.get('note')).toBe('from A');
    const listed = await clients(t).sync.send(new ListRecordsCommand({ IdentityPoolId: poolId, IdentityId: guestId, DatasetName: 'guest_notes' }));
    expect(listed.Records?.map((r) => [r.Key, r.Value, r.LastModifiedBy])).toEqual([['note', 'from A', guestId]]);
  });
});
