import { mkdtempSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Database } from '../../src/storage/sqlite/driver.js';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/storage/index.js';
import { LATEST_SCHEMA_VERSION, MIGRATIONS, SchemaTooNewError, migrate } from '../../src/storage/sqlite/migrations.js';
import { PRUNE_CHUNK, WAL_SIZE_LIMIT_BYTES, openSqliteDatabase, openSqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { runStoreConformance, write } from './conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'cosync-sqlite-'));
let files = 0;
const tempFile = () => join(dir, `store-${++files}.db`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

runStoreConformance({ name: 'sqlite :memory:', create: async () => openSqliteStore({ file: ':memory:' }) });
runStoreConformance({ name: 'sqlite file', create: () => openStore({ engine: 'sqlite', file: tempFile() }) });
// What `cosync serve` runs with one process.
runStoreConformance({
  name: 'sqlite file, exclusive locking',
  create: () => openStore({ engine: 'sqlite', file: tempFile(), locking: 'exclusive' }),
});

describe('sqlite specifics', () => {
  it.skipIf(process.platform === 'win32')('creates the database and its WAL readable by the owner alone', async () => {
    const file = tempFile();
    const store = openSqliteStore({ file, exclusive: false });
    await store.getOrCreateSecret('mode-test', () => 'written');
    for (const f of [file, `${file}-wal`, `${file}-shm`]) expect(statSync(f).mode & 0o777, f).toBe(0o600);
    await store.close();
  });

  it.skipIf(process.platform === 'win32')('creates the folders a new database file needs, owner-only', async () => {
    const file = join(dir, 'not', 'yet', 'there.sqlite');
    const store = openSqliteStore({ file });
    await store.getOrCreateSecret('folder-test', () => 'written');
    await store.close();
    expect(statSync(join(dir, 'not', 'yet')).mode & 0o777).toBe(0o700);
  });

  it.skipIf(process.platform === 'win32')('fails every call once its file is deleted or replaced: no write is acknowledged into a lost file', async () => {
    for (const how of ['deleted', 'replaced'] as const) {
      for (const exclusive of [true, false]) {
        const file = tempFile();
        const store = openSqliteStore({ file, exclusive });
        await write(store, 'id-1', 'ds', { k: 'v' });
        rmSync(file);
        if (how === 'replaced') openSqliteStore({ file }).close();
        const gone = new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} was ${how}`);
        // The first write after it: committed into the unreachable file, and so not acknowledged.
        await expect(write(store, 'id-1', 'ds', { k: 'lost' }), `${how}, exclusive ${exclusive}`).rejects.toThrow(gone);
        // Then every call, reads and the other writes alike.
        await expect(store.getDataset('id-1', 'ds')).rejects.toThrow(gone);
        await expect(store.deleteDataset('id-1', 'ds', 5)).rejects.toThrow(gone);
        await expect(write(store, 'id-1', 'ds', { k: 'again' })).rejects.toThrow(gone);
        await store.close();
      }
    }
    // A write of another kind is not acknowledged either.
    const file = tempFile();
    const store = openSqliteStore({ file });
    rmSync(file);
    await expect(store.getOrCreateSecret('after', () => 'x')).rejects.toThrow(/was deleted/);
    await store.close();
  });

  it('records the migrations and re-opens a file database with its data', async () => {
    const file = tempFile();
    const store = openSqliteStore({ file });
    const c = {
      identityPoolId: 'pool-a', identityId: 'id-1', datasetName: 'ds', keys: ['k'], sessionId: 's1', sessionExpiresAt: 1e9,
    };
    const dataset = {
      identityId: 'id-1', datasetName: 'ds', syncCount: 1, deleted: false, lastDeletedAtSyncCount: null, createdAt: 1,
      lastModifiedAt: 1, lastModifiedBy: 'me', numRecords: 1, dataStorage: 2, mergeParent: null,
    };
    const records = [{ key: 'k', value: 'v', syncCount: 1, lastModifiedAt: 1, lastModifiedBy: 'me', deviceLastModifiedAt: 1 }];
    // Not awaited before close(): close must flush it to disk.
    const pending = store.writeRecords(c, () => ({ dataset, records }));
    await store.close();
    await pending;

    const reopened = openSqliteStore({ file });
    expect(await reopened.getDataset('id-1', 'ds')).toEqual(dataset);
    expect(await reopened.listRecords('id-1', 'ds', { sinceSyncCount: 0, upToSyncCount: 10 }, { limit: 10 })).toEqual(records);
    await reopened.close();

    const db = new Database(file, { readonly: true });
    const applied = db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all();
    db.close();
    expect(applied).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
    expect(LATEST_SCHEMA_VERSION).toBe(MIGRATIONS.length);
  });

  it('uses WAL, cut back to a bounded size, and synchronous FULL by default, NORMAL on request', () => {
    const file = tempFile();
    const db = openSqliteDatabase({ file });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('journal_size_limit', { simple: true })).toBe(WAL_SIZE_LIMIT_BYTES);
    expect(db.pragma('synchronous', { simple: true })).toBe(2); // FULL
    db.close();
    const relaxed = openSqliteDatabase({ file, synchronous: 'NORMAL' });
    expect(relaxed.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
    relaxed.close();
  });

  it('with exclusive locking, keeps other processes out until it closes, and says why', async () => {
    const file = tempFile();
    const store = openSqliteStore({ file, exclusive: true });
    await write(store, 'us-east-1:x', 'ds', { k: 'v' });
    // A second server on the folder gives up after the driver's 5 s busy wait (a restart's old process may be
    // closing), with what to do about it.
    expect(() => openSqliteStore({ file })).toThrow(/is in use by another process .*--workers N.*--sqlite-locking shared/);
    // Another SQLite client cannot read the file either.
    const other = new Database(file, { timeout: 0 });
    expect(() => other.prepare('SELECT COUNT(*) FROM datasets').get()).toThrow(/database is locked/);
    other.close();
    await store.close();

    const reader = new Database(file, { readonly: true });
    expect(reader.prepare("SELECT sync_count FROM datasets WHERE name = 'ds'").get()).toEqual({ sync_count: 1 });
    reader.close();
    const reopened = openSqliteStore({ file, exclusive: true });
    expect((await reopened.getDataset('us-east-1:x', 'ds'))?.syncCount).toBe(1);
    await reopened.close();
  });

  it('reports the migrations an open applied, and none once the schema is current', async () => {
    const file = tempFile();
    const reported: (readonly number[])[] = [];
    await openSqliteStore({ file, onMigrated: (v) => reported.push(v) }).close();
    await openSqliteStore({ file, onMigrated: (v) => reported.push(v) }).close();
    expect(reported).toEqual([MIGRATIONS.map((m) => m.version)]);
  });

  it('refuses a file that is not a database, or a damaged one, naming it and what to do', async () => {
    const garbage = tempFile();
    writeFileSync(garbage, Buffer.alloc(8192, 0x5a));
    expect(() => openSqliteStore({ file: garbage })).toThrow(new RegExp(`${garbage.replace(/[.]/g, '\\.')} cannot be read .*Restore it from a backup`));
    // A real database cut short.
    const cut = tempFile();
    const store = openSqliteStore({ file: cut });
    await write(store, 'id-1', 'ds', { k: 'v'.repeat(20_000) });
    await store.close();
    truncateSync(cut, 4096);
    expect(() => openSqliteStore({ file: cut })).toThrow(/cannot be read \(database disk image is malformed\)/);
  });

  it('refuses a database with a newer schema version', async () => {
    const file = tempFile();
    await openSqliteStore({ file }).close();
    const db = new Database(file);
    db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
      .run(LATEST_SCHEMA_VERSION + 1, 'from the future', Date.now());
    db.close();
    expect(() => openSqliteStore({ file })).toThrow(SchemaTooNewError);
    expect(() => openSqliteStore({ file })).toThrow(/newer than this server supports/);
  });

  it('applies only pending migrations, and a failing migration leaves nothing behind', () => {
    const db = new Database(':memory:');
    expect(migrate(db)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(migrate(db)).toEqual([]);
    const next = { version: LATEST_SCHEMA_VERSION + 1, name: 'broken', sql: 'CREATE TABLE extra (x INTEGER); SELECT nope FROM nowhere;' };
    expect(() => migrate(db, [...MIGRATIONS, next])).toThrow(/no such table/);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'extra'").get()).toBeUndefined();
    expect(() => migrate(db, [...MIGRATIONS, { ...next, version: LATEST_SCHEMA_VERSION + 2 }])).toThrow(/expected/);
    db.close();
  });

  it('migrations 2 and 3: a pool stored before roles existed reads back with empty roles, role mappings and principal tag maps', async () => {
    const file = tempFile();
    const db = new Database(file);
    migrate(db, MIGRATIONS.slice(0, 1));
    const oldDoc = {
      allowUnauthenticatedIdentities: true, allowClassicFlow: false, supportedLoginProviders: {},
      developerProviderName: null, openIdConnectProviderArns: [], cognitoIdentityProviders: [], samlProviderArns: [],
      tags: { team: 'a' },
    };
    db.prepare('INSERT INTO identity_pools (id, name, created_at, doc) VALUES (?, ?, ?, ?)')
      .run('us-east-1:old', 'old', 5, JSON.stringify(oldDoc));
    db.close();
    const store = openSqliteStore({ file });
    expect(await store.getIdentityPool('us-east-1:old')).toEqual({
      identityPoolId: 'us-east-1:old', identityPoolName: 'old', createdAt: 5, ...oldDoc, roles: {}, roleMappings: {},
      principalTagMaps: {},
    });
    await store.close();
  });

  it('migration 3: a pool stored before principal tag maps existed gets none, and keeps its roles', async () => {
    const file = tempFile();
    const db = new Database(file);
    migrate(db, MIGRATIONS.slice(0, 2));
    const oldDoc = {
      allowUnauthenticatedIdentities: false, allowClassicFlow: true, supportedLoginProviders: { 'accounts.google.com': 'g' },
      developerProviderName: 'login.dev', openIdConnectProviderArns: [], cognitoIdentityProviders: [], samlProviderArns: [],
      tags: {}, roles: { authenticated: 'arn:aws:iam::123456789012:role/auth' }, roleMappings: {},
    };
    db.prepare('INSERT INTO identity_pools (id, name, created_at, doc) VALUES (?, ?, ?, ?)')
      .run('us-east-1:v2', 'v2', 7, JSON.stringify(oldDoc));
    db.close();
    const store = openSqliteStore({ file });
    expect(await store.getIdentityPool('us-east-1:v2')).toEqual({
      identityPoolId: 'us-east-1:v2', identityPoolName: 'v2', createdAt: 7, ...oldDoc, principalTagMaps: {},
    });
    await store.close();
  });

  it('migration 4: sessions consumed before it stay consumed, and are pruned by their expiry', async () => {
    const file = tempFile();
    const db = new Database(file);
    migrate(db, MIGRATIONS.slice(0, 3));
    const consume = db.prepare('INSERT INTO consumed_sessions (session_id, expires_at) VALUES (?, ?)');
    consume.run('early', 100);
    consume.run('late', 200);
    db.close();
    const store = openSqliteStore({ file });
    expect(await store.isSessionConsumed('id', { sessionId: 'early', expiresAt: 100 })).toBe(true);
    expect(await store.isSessionConsumed('id', { sessionId: 'late', expiresAt: 200 })).toBe(true);
    expect(await store.pruneConsumedSessions(150)).toBe(1);
    expect(await store.isSessionConsumed('id', { sessionId: 'early', expiresAt: 100 })).toBe(false);
    expect(await store.isSessionConsumed('id', { sessionId: 'late', expiresAt: 200 })).toBe(true);
    await store.close();
  });

  it('prunes expired session markers in chunks, taking turns of the event loop between them', async () => {
    const file = tempFile();
    const db = new Database(file);
    migrate(db, MIGRATIONS);
    const consume = db.prepare('INSERT INTO consumed_sessions (session_id, expires_at) VALUES (?, ?)');
    const expired = PRUNE_CHUNK * 2 + 10;
    db.transaction(() => {
      for (let i = 0; i < expired; i++) consume.run(`s-${i}`, 100 + (i % 7));
      consume.run('live', 500);
    })();
    db.close();
    const store = openSqliteStore({ file });
    let turns = 0;
    let counting = true;
    const count = () => {
      turns++;
      if (counting) setImmediate(count);
    };
    setImmediate(count);
    expect(await store.pruneConsumedSessions(200)).toBe(expired);
    counting = false;
    expect(turns).toBeGreaterThanOrEqual(2);
    expect(await store.isSessionConsumed('id', { sessionId: 'live', expiresAt: 500 })).toBe(true);
    expect(await store.isSessionConsumed('id', { sessionId: 's-0', expiresAt: 100 })).toBe(false);
    await store.close();
  });

  it('waits for another process\'s write lock without blocking its event loop, then commits', async () => {
    const file = tempFile();
    const store = openSqliteStore({ file });
    // Another process's transaction (a --workers sibling, or any SQLite client) holding the write lock.
    const other = new Database(file);
    other.prepare('BEGIN IMMEDIATE').run();
    let committed = false;
    const pending = write(store, 'us-east-1:w', 'ds', { k: 'v' }).then(() => { committed = true; });
    // Timers keep firing while the write waits: the event loop is not held by SQLite's busy handler.
    let ticks = 0;
    const ticker = setInterval(() => { ticks += 1; }, 5);
    const cpuBefore = process.cpuUsage();
    await new Promise((r) => setTimeout(r, 400));
    const cpu = process.cpuUsage(cpuBefore);
    expect(committed).toBe(false);
    expect(ticks).toBeGreaterThan(20);
    // The write tries the lock on every turn of the event loop only briefly, then on a timer: a holder that keeps
    // the lock does not cost this process a spinning core (which would use about the whole 400 ms). The window is
    // long because the count covers all of the process's threads (V8 compiles and collects on its own), which on
    // a busy CI machine came to 60 ms of a 120 ms window.
    expect((cpu.user + cpu.system) / 1000).toBeLessThan(200);
    other.prepare('COMMIT').run();
    await pending;
    clearInterval(ticker);
    expect((await store.getDataset('us-east-1:w', 'ds'))?.syncCount).toBe(1);
    other.close();
    await store.close();
  });

  it('applies writes queued before a merge or an identity deletion first', async () => {
    const store = openSqliteStore({ file: ':memory:' });
    for (const id of ['us-east-1:s', 'us-east-1:m', 'us-east-1:d']) {
      await store.createIdentity({ identityId: id, identityPoolId: 'p', createdAt: 1, lastModifiedAt: 1, disabled: false });
    }
    const queue = (identityId: string) => store.writeRecords(
      { identityPoolId: 'p', identityId, datasetName: 'ds', keys: ['k'], sessionId: `s-${identityId}`, sessionExpiresAt: 1e9 },
      () => ({
        dataset: {
          identityId, datasetName: 'ds', syncCount: 1, deleted: false, lastDeletedAtSyncCount: null, createdAt: 1,
          lastModifiedAt: 1, lastModifiedBy: 'me', numRecords: 1, dataStorage: 2, mergeParent: null,
        },
        records: [{ key: 'k', value: 'v', syncCount: 1, lastModifiedAt: 1, lastModifiedBy: 'me', deviceLastModifiedAt: 1 }],
      }),
    );
    // Not awaited: still in the group-commit queue when the merge and the deletion start.
    const pending = [queue('us-east-1:m'), queue('us-east-1:d')];
    const outcome = await store.mergeIdentities({
      survivorId: 'us-east-1:s', mergedId: 'us-east-1:m', now: 9, datasetName: (n) => `${n}.us-east-1:m`,
    });
    expect(await store.deleteIdentity('us-east-1:d')).toBe(true);
    await Promise.all(pending);
    expect(outcome?.movedDatasets).toEqual(['ds.us-east-1:m']);
    expect(await store.getDataset('us-east-1:m', 'ds')).toBeUndefined();
    expect(await store.getDataset('us-east-1:d', 'ds')).toBeUndefined();
    await store.close();
  });

  it('a write the database refuses fails alone: its batch runs again, the other writes commit', async () => {
    const store = openSqliteStore({ file: tempFile() });
    const command = (i: number) => ({
      identityPoolId: 'p', identityId: `id-${i}`, datasetName: 'ds', keys: ['k'], sessionId: `s-${i}`, sessionExpiresAt: 1e9,
    });
    let plans = 0;
    // Queued in one turn, so one batch. Write 1 stores its dataset row, then a record value the STRICT table
    // refuses (a BLOB in a TEXT column): the database, not the plan, fails it, after it has written.
    const writes = [0, 1, 2].map((i) => store.writeRecords(command(i), () => {
      plans += 1;
      return {
        dataset: {
          identityId: `id-${i}`, datasetName: 'ds', syncCount: 1, deleted: false, lastDeletedAtSyncCount: null,
          createdAt: 1, lastModifiedAt: 1, lastModifiedBy: 'me', numRecords: 1, dataStorage: 2, mergeParent: null,
        },
        records: [{
          key: 'k', value: (i === 1 ? Buffer.from('v') : 'v') as string, syncCount: 1, lastModifiedAt: 1, lastModifiedBy: 'me',
          deviceLastModifiedAt: 1,
        }],
      };
    }));
    const outcomes = await Promise.allSettled(writes);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((outcomes[1] as PromiseRejectedResult).reason)).toMatch(/TEXT/);
    expect(plans).toBe(2 + 3); // writes 0 and 1, then the whole batch again, in savepoints
    expect(await store.getDataset('id-1', 'ds')).toBeUndefined();
    expect(await store.isSessionConsumed('id-1', { sessionId: 's-1', expiresAt: 1e9 })).toBe(false);
    for (const i of [0, 2]) {
      expect((await store.getDataset(`id-${i}`, 'ds'))?.syncCount).toBe(1);
      expect(await store.isSessionConsumed(`id-${i}`, { sessionId: `s-${i}`, expiresAt: 1e9 })).toBe(true);
    }
    await store.close();
  });

  it('commits many concurrent writes in batches, rejecting only failing plans', async () => {
    const store = openSqliteStore({ file: tempFile() });
    const writes = Array.from({ length: 600 }, (_, i) => store.writeRecords(
      { identityPoolId: 'p', identityId: `id-${i % 7}`, datasetName: `ds-${i % 5}`, keys: [], sessionId: `s-${i}`, sessionExpiresAt: 1e9 },
      (state) => {
        if (i % 50 === 49) throw new Error(`plan ${i} fails`);
        const count = (state.dataset?.syncCount ?? 0) + 1;
        return {
          dataset: {
            identityId: `id-${i % 7}`, datasetName: `ds-${i % 5}`, syncCount: count, deleted: false,
            lastDeletedAtSyncCount: null, createdAt: 1, lastModifiedAt: i, lastModifiedBy: 'me', numRecords: 0,
            dataStorage: 0, mergeParent: null,
          },
          records: [],
        };
      },
    ));
    const outcomes = await Promise.allSettled(writes);
    expect(outcomes.filter((o) => o.status === 'rejected')).toHaveLength(12);
    expect((await store.getPoolUsage(['p']))[0]?.syncSessionsCount).toBe(588);
    await store.close();
  });
});
