/**
 * The browser side of browser.test.ts, bundled by esbuild: the client with its IndexedDB store, driven from the
 * test through window functions. Each call builds a new client over the same IndexedDB database, as a page
 * reload would.
 */
import { CosyncClient, IndexedDbStore, type LocalStore } from '../../src/index.js';
import { runStoreChecks } from '../store-checks.js';

interface Target { endpoint: string; region: string; identityPoolId: string }

function newClient(t: Target): CosyncClient {
  return new CosyncClient({ ...t, store: new IndexedDbStore('cosync-browser-test'), retry: { attempts: 3, baseDelayMs: 10 } });
}

async function writeAndSync(t: Target) {
  const client = newClient(t);
  const ds = await client.openDataset('prefs');
  await ds.put('theme', 'dark');
  await ds.put('empty', '');
  await ds.put('gone', 'x');
  await ds.remove('gone');
  const result = await ds.synchronize();
  const identityId = await client.identityId();
  await client.close();
  return { identityId, pushed: result.pushed.sort(), requests: result.requests };
}

/** After a "reload": the identity and the data come back from IndexedDB, then a sync pulls what others wrote. */
async function reopenAndSync(t: Target) {
  const client = newClient(t);
  const ds = await client.openDataset('prefs');
  const identityId = await client.identityId();
  const before = ds.getAll();
  const result = await ds.synchronize();
  const after = ds.getAll();
  await client.close();
  return { identityId, before, after, pulled: result.pulled.sort() };
}

/** The store suite on the browser's own IndexedDB, each store in a database of its own. */
async function storeSuite() {
  let n = 0;
  const names = new WeakMap<LocalStore, string>();
  return runStoreChecks({
    create: async () => {
      const name = `cosync-store-suite-${++n}`;
      const store = new IndexedDbStore(name);
      names.set(store, name);
      return store;
    },
    reopen: async (store) => new IndexedDbStore(names.get(store)),
  });
}

Object.assign(globalThis, { cosync: { writeAndSync, reopenAndSync, storeSuite } });
