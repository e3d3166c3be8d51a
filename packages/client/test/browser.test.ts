/**
 * The client in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core), bundled for the browser
 * by esbuild, with the IndexedDB store, syncing cross-origin against the real server (CORS) and exchanging data
 * with a Node.js device. Skips without Chromium, except under CI (CI=true), where a missing browser fails.
 */
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { ListRecordsCommand } from '@aws-sdk/client-cognito-sync';
import { clients, createPool, device, startServer, type TestServer } from './support.js';
import { MemoryStore } from '../src/index.js';
import { storeChecks } from './store-checks.js';

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env['CI'] === 'true') {
  throw new Error(`${CHROMIUM} is missing: CI must run the browser test (.ci/run installs Debian's chromium)`);
}
if (!haveChromium) console.warn(`browser test skipped: no Chromium at ${CHROMIUM} (apt-get install -y chromium)`);

let t: TestServer;
let poolId: string;
let site: Server;
let origin: string;
let browser: Browser;

interface Target { endpoint: string; region: string; identityPoolId: string }
type PageApi = {
  cosync: {
    writeAndSync(x: Target): Promise<unknown>;
    reopenAndSync(x: Target): Promise<unknown>;
    storeSuite(): Promise<{ ran: string[]; failures: string[] }>;
  };
  cosyncTabs: {
    start(x: Target): Promise<{ identityId?: string; error?: { name: string; message: string } }>;
    close(): Promise<void>;
  };
};

/** Serves the page and the bundles from another origin than the Cosync server, so every call is cross-origin. */
async function serveBundle(): Promise<void> {
  const bundle = await build({
    entryPoints: { bundle: fileURLToPath(new URL('./browser/page.ts', import.meta.url)), tabs: fileURLToPath(new URL('./browser/tabs.ts', import.meta.url)) },
    bundle: true, format: 'esm', platform: 'browser', target: 'es2022', write: false, logLevel: 'silent', outdir: '/',
  });
  const scripts = new Map(bundle.outputFiles.map((f) => [`/${basename(f.path)}`, f.text]));
  site = createServer((req, res) => {
    const js = scripts.get(req.url ?? '');
    if (js !== undefined) {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
    } else {
      res.writeHead(200, { 'content-type': 'text/html' })
        .end('<!doctype html><script type="module" src="/bundle.js"></script><script type="module" src="/tabs.js"></script>');
    }
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  origin = `http://localhost:${(site.address() as AddressInfo).port}`;
}

describe.runIf(haveChromium)('the client in headless Chromium with the IndexedDB store', () => {
  beforeAll(async () => {
    t = await startServer();
    poolId = await createPool(t);
    await serveBundle();
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => site?.close(resolve));
    await t?.close();
  });

  it('syncs from a page, keeps data and identity across a reload, and pulls another device\'s change', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => 'cosync' in globalThis);
    const target = { endpoint: t.endpoint, region: t.region, identityPoolId: poolId };

    const first = await page.evaluate((x) => (globalThis as unknown as PageApi).cosync.writeAndSync(x), target) as {
      identityId: string; pushed: string[]; requests: { listRecords: number; updateRecords: number };
    };
    expect(first.pushed).toEqual(['empty', 'gone', 'theme']);
    expect(first.requests).toMatchObject({ listRecords: 1, updateRecords: 1 });
    const listed = await clients(t).sync.send(new ListRecordsCommand({ IdentityPoolId: poolId, IdentityId: first.identityId, DatasetName: 'prefs' }));
    expect(Object.fromEntries((listed.Records ?? []).map((r) => [r.Key, r.Value ?? null]))).toEqual({ theme: 'dark', empty: '', gone: null });

    // Another device of the same identity (Node.js) changes the dataset.
    const store = new MemoryStore();
    await store.set(`cosync/${poolId}/identity`, { format: 1, identityId: first.identityId, authenticated: false });
    const other = await device(t, poolId, { store }).client.openDataset('prefs');
    await other.synchronize();
    await other.put('theme', 'light');
    await other.put('fromNode', 'hello');
    await other.synchronize();

    await page.reload();
    await page.waitForFunction(() => 'cosync' in globalThis);
    const second = await page.evaluate((x) => (globalThis as unknown as PageApi).cosync.reopenAndSync(x), target) as {
      identityId: string; before: Record<string, string>; after: Record<string, string>; pulled: string[];
    };
    expect(second.identityId).toBe(first.identityId);
    expect(second.before).toEqual({ theme: 'dark', empty: '' });
    expect(second.pulled).toEqual(['fromNode', 'theme']);
    expect(second.after).toEqual({ theme: 'light', empty: '', fromNode: 'hello' });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('lets one tab at a time use the store: a second tab gets StoreInUseError until the first is gone', async () => {
    const context = await browser.newContext(); // the tabs of one profile: one IndexedDB, one lock manager
    const [first, second] = [await context.newPage(), await context.newPage()];
    for (const [page, tab] of [[first, 'first'], [second, 'second']] as const) {
      await page.goto(`${origin}/#${tab}`);
      await page.waitForFunction(() => 'cosyncTabs' in globalThis);
    }
    const target = { endpoint: t.endpoint, region: t.region, identityPoolId: poolId };
    const start = (page: typeof first) => page.evaluate((x) => (globalThis as unknown as PageApi).cosyncTabs.start(x), target);

    const holder = await start(first);
    expect(holder.identityId).toMatch(/^[\w-]+:/);
    const refused = await start(second);
    expect(refused.error?.name).toBe('StoreInUseError');
    expect(refused.error?.message).toContain('another tab');
    // The first tab goes away without closing its client: the browser releases its lock (soon after, not at once).
    // The second tab's client starts at a later call, on the first tab's guest identity (not a second guest).
    await first.close();
    await expect.poll(() => start(second), { timeout: 10_000, interval: 100 }).toEqual({ identityId: holder.identityId });
    await second.evaluate(() => (globalThis as unknown as PageApi).cosyncTabs.close());
    await context.close();
  });

  it('passes the store suite on the real IndexedDB', async () => {
    const page = await browser.newPage();
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => 'cosync' in globalThis);
    const result = await page.evaluate(() => (globalThis as unknown as PageApi).cosync.storeSuite());
    expect(result.failures).toEqual([]);
    expect(result.ran).toEqual(storeChecks.map((c) => c.name));
    await page.close();
  });
});
