/**
 * The store suite on the in-memory store, the file store and the IndexedDB store (fake-indexeddb under Node.js),
 * and a check that the published declarations compile in a Node.js-only project.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
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
  // The lock is a Web Lock: Node.js 20 has none (the store then locks nothing); later Node.js versions may.
  exclusive: typeof (globalThis as { navigator?: { locks?: unknown } }).navigator?.locks === 'object',
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

/**
 * The package's declarations, emitted from the sources as `npm run build` does, compile in a project with neither
 * the DOM lib nor skipLibCheck: the index re-exports IndexedDbStore, whose declarations once named IDBFactory.
 */
it('the published declarations compile in a Node.js-only project (no DOM lib, skipLibCheck false)', async () => {
  const run = promisify(execFile);
  const packageDir = fileURLToPath(new URL('..', import.meta.url));
  const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
  const project = newDir();
  const installed = join(project, 'node_modules', '@cosync', 'client');
  mkdirSync(installed, { recursive: true });
  copyFileSync(join(packageDir, 'package.json'), join(installed, 'package.json'));
  await run(process.execPath, [tsc, '-p', join(packageDir, 'tsconfig.build.json'), '--emitDeclarationOnly', '--sourceMap', 'false', '--outDir', join(installed, 'dist')]);
  // The dependencies' own declarations come from this checkout (checked too: skipLibCheck is false).
  const modules = join(dirname(createRequire(import.meta.url).resolve('@aws-sdk/client-cognito-sync/package.json')), '..', '..');
  for (const scope of ['@aws-sdk', '@types']) symlinkSync(join(modules, scope), join(project, 'node_modules', scope), 'dir');
  writeFileSync(join(project, 'package.json'), JSON.stringify({ type: 'module' }));
  writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'ES2022', lib: ['ES2022'], types: ['node'], module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: false, noEmit: true },
    files: ['consumer.ts'],
  }));
  writeFileSync(join(project, 'consumer.ts'), [
    "import { CosyncClient, IndexedDbStore, MemoryStore, type LocalStore } from '@cosync/client';",
    "import { CorruptValueError, FileStore, StoreInUseError } from '@cosync/client/file-store';",
    "const store: LocalStore = new FileStore('./data');",
    "export const client = new CosyncClient({ identityPoolId: 'us-east-1:x', region: 'us-east-1', store });",
    'export const others: LocalStore[] = [new MemoryStore(), new IndexedDbStore()];',
    'export const errors = [CorruptValueError, StoreInUseError];',
  ].join('\n'));
  const checked = await run(process.execPath, [tsc, '-p', join(project, 'tsconfig.json')]).then(() => '', (err: { stdout?: string }) => err.stdout ?? String(err));
  expect(checked).toBe('');
}, 120_000);
