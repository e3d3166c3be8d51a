/**
 * Credentials come from the SDK's Cognito Identity provider and are renewed by the SDK before they expire: with
 * credentials that live 30 s (inside the SDK's five-minute renewal window) every sync fetches fresh ones; with the
 * default hour, one set serves many syncs.
 */
import { afterAll, expect, it } from 'vitest';
import { createPool, device, startServer, type TestServer } from './support.js';

const servers: TestServer[] = [];
afterAll(async () => { await Promise.all(servers.map((s) => s.close())); });

async function identityRequestsForThreeSyncs(credentialsTtlSeconds: number): Promise<number> {
  const t = await startServer({ config: { credentialsTtlSeconds } });
  servers.push(t);
  const d = device(t, await createPool(t));
  const ds = await d.client.openDataset('creds');
  await ds.put('k', '0');
  await ds.synchronize();
  d.network.reset();
  for (let i = 1; i <= 3; i++) {
    await ds.put('k', String(i));
    await ds.synchronize();
  }
  expect(ds.pendingChanges()).toBe(0);
  return d.network.counts.identity;
}

it('renews credentials that are about to expire', async () => {
  expect(await identityRequestsForThreeSyncs(30)).toBeGreaterThanOrEqual(3);
});

it('keeps credentials that are still good', async () => {
  expect(await identityRequestsForThreeSyncs(3600)).toBe(0);
});
