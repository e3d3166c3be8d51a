/**
 * The file store's file names (every key the client can produce fits, stores of earlier versions stay readable),
 * its answer to a damaged file (CorruptValueError, and the way out), and one client per store: the file store's
 * lock (two stores of a process, stale locks of dead processes) and a store object given to two clients.
 * No server: the clients start from a stored guest identity and never reach the network.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CosyncClient, MemoryStore, type LocalStore, type StoredValue } from '../src/index.js';
import { CorruptValueError, FileStore, StoreInUseError } from '../src/store/file.js';

const dirs: string[] = [];
function newDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cosync-file-store-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

/** The longest ids Cognito issues (55 characters) and the longest dataset names of the worst characters. */
const POOL = `us-east-1:${'0123456789abcdef-'.repeat(3).slice(0, 45)}`;
const IDENTITY = `eu-west-2:${'fedcba9876543210-'.repeat(3).slice(0, 45)}`;
const LONG_NAME = 'a.b:c-'.repeat(21); // 126 characters
const WORST_NAME = '.:'.repeat(64); // 128 characters, each encoded in three
const identity = (id = IDENTITY): StoredValue => ({ format: 1, identityId: id, authenticated: false });

/** How file names were made before hashed names (and still are for short keys). */
const encodedName = (key: string) =>
  `${encodeURIComponent(key).replace(/[.!~*'()]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}.json`;

/** A client on `store` for the stored guest IDENTITY of POOL: it starts offline. */
async function clientOn(store: LocalStore): Promise<CosyncClient> {
  await store.set(`cosync/${POOL}/identity`, identity());
  return new CosyncClient({ identityPoolId: POOL, region: 'us-east-1', endpoint: 'http://127.0.0.1:9', store });
}

const failure = (p: Promise<unknown>): Promise<unknown> => p.then(() => 'no error', (err: unknown) => err);

describe('file names', () => {
  it('stores datasets with the longest ids and names in files of under 255 bytes, and lists them', async () => {
    expect([POOL.length, IDENTITY.length, LONG_NAME.length, WORST_NAME.length]).toEqual([55, 55, 126, 128]);
    const dir = newDir();
    const client = await clientOn(new FileStore(dir));
    for (const name of [LONG_NAME, WORST_NAME, 'short']) await (await client.openDataset(name)).put('k', name);
    await client.close();

    for (const file of readdirSync(dir)) expect(Buffer.byteLength(file)).toBeLessThan(255);
    const again = new CosyncClient({ identityPoolId: POOL, region: 'us-east-1', endpoint: 'http://127.0.0.1:9', store: new FileStore(dir) });
    expect(await again.localDatasets()).toEqual([LONG_NAME, WORST_NAME, 'short'].sort());
    for (const name of [LONG_NAME, WORST_NAME, 'short']) expect((await again.openDataset(name)).get('k')).toBe(name);
    await again.close();
  });

  it('keeps arbitrary long keys apart, and lists them by prefix', async () => {
    const dir = newDir();
    const store = new FileStore(dir);
    const base = `x/${'€/.'.repeat(340)}`; // about 1,000 characters, 7 bytes encoded each
    const keys = [`${base}a`, `${base}b`, `${'y'.repeat(2000)}`, 'y'];
    for (const [i, k] of keys.entries()) await store.set(k, identity(`id-${i}`));
    for (const [i, k] of keys.entries()) expect(await store.get(k)).toEqual(identity(`id-${i}`));
    expect(await store.keys('x/')).toEqual([`${base}a`, `${base}b`]);
    expect(await store.keys('y')).toEqual(['y', 'y'.repeat(2000)]);
    expect(await store.keys(`${base}b`)).toEqual([`${base}b`]);
    await store.delete(`${base}a`);
    expect(await store.keys('')).toEqual([`${base}b`, 'y', 'y'.repeat(2000)]);
    await store.close();
    expect(readdirSync(dir)).toHaveLength(3);
    for (const file of readdirSync(dir)) expect(Buffer.byteLength(file)).toBeLessThan(255);
  });

  it('reads a store written by earlier versions (encoded names up to the longest they could write)', async () => {
    const dir = newDir();
    // Earlier versions wrote `<name>.json.<pid>.<n>.tmp` first: a name longer than 247 bytes could not be written.
    const longest = `cosync/${'p'.repeat(229)}/z`;
    expect(encodedName(longest)).toHaveLength(247);
    const old = { [`cosync/${POOL}/identity`]: identity(), [`cosync/${POOL}/${IDENTITY}/a.b`]: identity('ds'), [longest]: identity('long') };
    for (const [key, value] of Object.entries(old)) writeFileSync(join(dir, encodedName(key)), JSON.stringify(value));
    const store = new FileStore(dir);
    for (const [key, value] of Object.entries(old)) expect(await store.get(key)).toEqual(value);
    expect(await store.keys('cosync/')).toEqual(Object.keys(old).sort());
    await store.set(longest, identity('newer'));
    await store.close();
    expect(readdirSync(dir).sort()).toEqual(Object.keys(old).map(encodedName).sort());
    expect(JSON.parse(readFileSync(join(dir, encodedName(longest)), 'utf8'))).toEqual(identity('newer'));
  });
});

describe('a damaged file', () => {
  it('is a CorruptValueError naming the file and the key, and deleting the key starts it over', async () => {
    const dir = newDir();
    const store = new FileStore(dir);
    const client = await clientOn(store);
    await (await client.openDataset('settings')).put('theme', 'dark');
    await (await client.openDataset('other')).put('kept', 'yes');
    await client.close();
    const key = `cosync/${POOL}/${IDENTITY}/settings`;
    const path = join(dir, encodedName(key));
    writeFileSync(path, readFileSync(path, 'utf8').slice(0, 20)); // truncated

    const again = await clientOn(store);
    const err = await failure(again.openDataset('settings'));
    expect(err).toBeInstanceOf(CorruptValueError);
    expect(err).toMatchObject({ name: 'CorruptValueError', key, path });
    expect((err as Error).message).toContain(path);
    expect((err as Error).message).toContain(JSON.stringify(key));
    expect((err as Error).message).toContain('store.delete(error.key)');
    expect((await again.openDataset('other')).get('kept')).toBe('yes');
    // The way out the README gives: delete the damaged entry, open again (a sync pulls the server's copy).
    await store.delete((err as CorruptValueError).key!);
    expect((await again.openDataset('settings')).getAll()).toEqual({});
    await again.close();
  });

  it('names the file also when a hashed file is damaged, in get() and keys()', async () => {
    const dir = newDir();
    const store = new FileStore(dir);
    const key = `cosync/${POOL}/${IDENTITY}/${WORST_NAME}`;
    await store.set(key, identity());
    const [file] = readdirSync(dir).filter((f) => f.includes('~') && f.endsWith('.json'));
    const path = join(dir, file!);
    writeFileSync(path, '{"key":');
    expect(await failure(store.get(key))).toMatchObject({ name: 'CorruptValueError', key, path });
    const listing = await failure(store.keys('cosync/'));
    expect(listing).toBeInstanceOf(CorruptValueError);
    expect(listing).toMatchObject({ key: undefined, path });
    writeFileSync(path, 'null');
    expect(await failure(store.get(key))).toBeInstanceOf(CorruptValueError);
    await store.delete(key);
    expect([await store.get(key), await store.keys('')]).toEqual([undefined, []]);
    await store.close();
  });

  it('is a CorruptValueError for valid JSON that is no stored value', async () => {
    const dir = newDir();
    const store = new FileStore(dir);
    writeFileSync(join(dir, encodedName('k')), '[1]');
    expect(await failure(store.get('k'))).toMatchObject({ name: 'CorruptValueError', key: 'k', path: join(dir, encodedName('k')) });
    await store.close();
  });
});

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

const writeLock = (dir: string, owner: object) => writeFileSync(join(dir, 'cosync.lock'), JSON.stringify(owner));

describe('one client per store', () => {
  it('refuses a second client on the same directory, and releases the store on close', async () => {
    const dir = newDir();
    const first = await clientOn(new FileStore(dir));
    await (await first.openDataset('notes')).put('n', 'first');
    const second = new CosyncClient({ identityPoolId: POOL, region: 'us-east-1', endpoint: 'http://127.0.0.1:9', store: new FileStore(dir) });
    const err = await failure(second.openDataset('notes'));
    expect(err).toBeInstanceOf(StoreInUseError);
    expect((err as Error).message).toMatch(/another FileStore of this process.*cosync\.lock/);
    await first.close();
    expect(readdirSync(dir)).not.toContain('cosync.lock');
    // The refused client starts at its next call, and sees what the first wrote.
    expect((await second.openDataset('notes')).get('n')).toBe('first');
    expect(JSON.parse(readFileSync(join(dir, 'cosync.lock'), 'utf8'))).toMatchObject({ pid: process.pid, host: hostname() });
    await second.close();
  });

  it('refuses a second client given the same store object, whose close() leaves the store to the first', async () => {
    const dir = newDir();
    for (const store of [new MemoryStore(), new FileStore(dir)]) {
      const first = await clientOn(store);
      const notes = await first.openDataset('notes');
      await notes.put('n', 'first');
      const second = new CosyncClient({ identityPoolId: POOL, region: 'us-east-1', store });
      expect(await failure(second.openDataset('notes'))).toBeInstanceOf(StoreInUseError);
      await second.close();
      if (store instanceof FileStore) expect(readdirSync(dir)).toContain('cosync.lock'); // still the first's
      await notes.put('n', 'still the first');
      await first.close();
      const third = new CosyncClient({ identityPoolId: POOL, region: 'us-east-1', store });
      expect((await third.openDataset('notes')).get('n')).toBe('still the first');
      await third.close();
    }
  });

  it('takes over the lock of a dead process, or of this pid left by a former process', async () => {
    for (const pid of [await deadPid(), process.pid]) {
      const dir = newDir();
      writeLock(dir, { pid, host: hostname(), since: '2020-01-01T00:00:00.000Z' });
      const store = new FileStore(dir);
      await store.set('k', identity());
      expect(JSON.parse(readFileSync(join(dir, 'cosync.lock'), 'utf8'))).toMatchObject({ pid: process.pid });
      await store.close();
      expect(readdirSync(dir)).toEqual([encodedName('k')]);
    }
  });

  it('refuses a store locked by another thread of this process (same pid and start), and takes over a former process\'s', async () => {
    const started = Math.round(Date.now() - process.uptime() * 1000);
    const dir = newDir();
    writeLock(dir, { pid: process.pid, host: hostname(), since: new Date().toISOString(), processStarted: started });
    expect(await failure(new FileStore(dir).keys(''))).toBeInstanceOf(StoreInUseError);
    writeLock(dir, { pid: process.pid, host: hostname(), since: '2020-01-01T00:00:00.000Z', processStarted: started - 3_600_000 });
    const store = new FileStore(dir);
    expect(await store.keys('')).toEqual([]);
    await store.close();
  });

  it('refuses a store locked by a live process or another host, until the lock goes', async () => {
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
    const dir = newDir();
    writeLock(dir, { pid: child.pid, host: hostname(), since: '2020-01-01T00:00:00.000Z' });
    const store = new FileStore(dir);
    const err = await failure(store.get('k'));
    expect(err).toBeInstanceOf(StoreInUseError);
    expect((err as Error).message).toContain(`process ${child.pid}`);
    child.kill();
    await new Promise((resolve) => child.on('exit', resolve));
    expect(await store.get('k')).toBeUndefined(); // the next call finds the holder dead
    await store.close();

    writeLock(dir, { pid: 1, host: `not-${hostname()}`, since: '2020-01-01T00:00:00.000Z' });
    expect(await failure(new FileStore(dir).keys(''))).toBeInstanceOf(StoreInUseError);
  });

  it('treats an unreadable lock file as being created, unless it is old', async () => {
    const dir = newDir();
    writeFileSync(join(dir, 'cosync.lock'), '');
    const store = new FileStore(dir);
    expect(await failure(store.keys(''))).toBeInstanceOf(StoreInUseError);
    const past = new Date(Date.now() - 60_000);
    utimesSync(join(dir, 'cosync.lock'), past, past);
    expect(await store.keys('')).toEqual([]);
    await store.close();
  });
});
