/**
 * The browser side of browser.test.ts's test of two tabs on one IndexedDB database, bundled by esbuild: each tab
 * starts a client of its own on the same store and keeps it (and so the store's Web Lock) until told to close.
 */
import { CosyncClient, IndexedDbStore } from '../../src/index.js';

interface Target { endpoint: string; region: string; identityPoolId: string }

let client: CosyncClient | undefined;

/** Starts this tab's client (once) and answers its identity, or the error its first call met. */
async function start(t: Target): Promise<{ identityId?: string; error?: { name: string; message: string } }> {
  client ??= new CosyncClient({ ...t, store: new IndexedDbStore('cosync-tabs-test'), retry: { attempts: 3, baseDelayMs: 10 } });
  try {
    const ds = await client.openDataset('tabs');
    await ds.put('tab', location.hash);
    return { identityId: await client.identityId() };
  } catch (err) {
    return { error: { name: (err as Error).name, message: (err as Error).message } };
  }
}

async function close(): Promise<void> {
  await client?.close();
  client = undefined;
}

Object.assign(globalThis, { cosyncTabs: { start, close } });
