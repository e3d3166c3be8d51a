/** The store suite on the in-memory store, the file store and the IndexedDB store (fake-indexeddb under Node.js). */
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { IDBFactory } from 'fake-indexeddb';
import { IndexedDbStore, MemoryStore, type LocalStore } from '../src/index.js';
import { FileStore } from '../src/store/file.js';
import { storeSuite } from './store-suite.js';

const dirs: string[] = [];
const newDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'cosync-client-store-'));
  dirs.push(dir);
  return dir;
};
afterAll(async () => {
  const { rm } = await import('node:fs/promises');
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

storeSuite('memory', { create: async () => new MemoryStore() });

const fileDirs = new WeakMap<LocalStore, string>();
storeSuite('file', {
  create: async () => {
    const dir = newDir();
    const store = new FileStore(dir);
    fileDirs.set(store, dir);
    return store;
  },
  reopen: async (store) => new FileStore(fileDirs.get(store) ?? ''),
});

const idbNames = new WeakMap<LocalStore, { factory: IDBFactory; name: string }>();
let idbCount = 0;
storeSuite('IndexedDB (fake-indexeddb)', {
  create: async () => {
    const factory = new IDBFactory();
    const name = `cosync-test-${++idbCount}`;
    const store = new IndexedDbStore(name, factory);
    idbNames.set(store, { factory, name });
    return store;
  },
  reopen: async (store) => {
    const { factory, name } = idbNames.get(store)!;
    return new IndexedDbStore(name, factory);
  },
});

it('the file store leaves no temporary files behind and names files safely', async () => {
  const dir = newDir();
  const store = new FileStore(dir);
  await Promise.all([store.set('../escape', { format: 1, identityId: 'x', authenticated: false }), store.set('a/b:c.d', { format: 1, identityId: 'y', authenticated: false })]);
  await store.close();
  const files = readdirSync(dir).sort();
  expect(files.every((f) => f.endsWith('.json') && !f.includes('/') && !f.startsWith('.'))).toBe(true);
  expect(files).toHaveLength(2);
});
