import { expect } from 'vitest';
import type { SyncStore } from '../../src/storage/store.js';
import type { Login } from '../../src/storage/types.js';
import { ALL, command, device, emptyUsage, identity, pool, putPlan, write, type ConformancePart } from './conformance.js';

/**
 * The pool-deletion part of the SyncStore conformance suite (runStoreConformance calls it). A pool is deleted in
 * chunks (several transactions) on every engine, so these pools hold more identities than one chunk takes.
 */
export const runPoolDeletionConformance: ConformancePart = (test, getStore) => {
  const P = 'us-east-1:crowded';
  const KEPT = 'us-east-1:kept';
  const idOf = (i: number) => `us-east-1:crowd-${String(i).padStart(4, '0')}`;
  const login = (identityId: string, subject: string): Login => ({
    identityPoolId: P, providerName: 'login.dev', subject, identityId, linkedAt: 1000,
  });

  /** A write as UpdateRecords makes it: refused (nothing written) when the plan finds no identity. */
  function checkedWrite(store: SyncStore, identityId: string, name: string) {
    const c = command(identityId, name, ['k'], { identityPoolId: P });
    return store.writeRecords(c, (state) => (state.identity ? putPlan(c, { k: 'v' })(state) : { dataset: undefined, records: [] }));
  }

  async function crowdedPool(store: SyncStore, size: number): Promise<string[]> {
    await store.createIdentityPool(pool(P));
    await store.createIdentityPool(pool(KEPT));
    await store.createIdentity(identity('us-east-1:kept-id', KEPT));
    await write(store, 'us-east-1:kept-id', 'ds', { k: 'v' }, { poolId: KEPT });
    const ids = Array.from({ length: size }, (_, i) => idOf(i));
    for (let i = 0; i < size; i += 100) {
      await Promise.all(ids.slice(i, i + 100).map((id) => store.createIdentity(identity(id, P))));
    }
    await Promise.all(ids.filter((_, i) => i % 10 === 0).map((id) => write(store, id, 'ds', { a: '1', b: '2' }, { poolId: P })));
    return ids;
  }

  test('identity pools: deleting a pool of many identities, racing their writes, links and devices, leaves nothing of it', async () => {
    const store = getStore();
    const ids = await crowdedPool(store, 1200);
    // Spread over the whole ID order, so that some are deleted early and some late in the deletion.
    const chosen = ids.filter((_, i) => i % 60 === 0 || i === ids.length - 1);
    let round = 0;
    const race = () => {
      round++;
      return Promise.all(chosen.flatMap((id) => [
        checkedWrite(store, id, `race-${round}`),
        store.linkLogin(login(id, `${id}-${round}`)),
        store.registerDevice(device(`${id}-dev-${round}`, id)),
        store.subscribe(id, 'ds', `${id}-dev-${round}`, 1000),
      ]));
    };
    const before = race();
    const deleted = store.deleteIdentityPool(P);
    const during = race();
    const later = new Promise((resolve) => setTimeout(resolve, 5)).then(race);
    expect(await deleted).toBe(true);
    await Promise.all([before, during, later]);

    expect(await store.getIdentityPool(P)).toBeUndefined();
    expect(await store.listIdentities(P, { limit: 10 })).toEqual([]);
    expect(await store.getPoolUsage([P])).toEqual([emptyUsage(P)]);
    for (const id of [...chosen, idOf(10), idOf(1190)]) {
      expect(await store.getIdentity(id), id).toBeUndefined();
      for (let r = 0; r <= round; r++) {
        const name = r === 0 ? 'ds' : `race-${r}`;
        expect(await store.getDataset(id, name), `${id} ${name}`).toBeUndefined();
        expect(await store.listRecords(id, name, ALL, { limit: 10 })).toEqual([]);
        expect(await store.getDevice(id, `${id}-dev-${r}`)).toBeUndefined();
        expect(await store.findLogin(P, 'login.dev', `${id}-${r}`)).toBeUndefined();
      }
      expect(await store.listLogins(id)).toEqual([]);
    }
    expect((await store.getDataset('us-east-1:kept-id', 'ds'))?.numRecords).toBe(1);
    expect(await store.deleteIdentityPool(P)).toBe(false);
  });

  test('identity pools: a pool being deleted is gone for pool-level calls, and takes no new identity, before the call answers', async () => {
    const store = getStore();
    const ids = await crowdedPool(store, 600);
    const deleted = store.deleteIdentityPool(P);
    const late = identity('us-east-1:too-late', P);
    // From the moment a call finds the pool gone (its first, short transaction), while its identities may still be
    // being deleted, nothing is stored under it any more.
    while (await store.getIdentityPool(P)) await new Promise((resolve) => setImmediate(resolve));
    // Its identities read as gone too, the last ones (deleted last) included, with their data: no credentials
    // resolve, no listing shows the data, although their rows may still be there.
    const last = ids.at(-10)!;
    const [lastIdentity, lastView] = await Promise.all([store.getIdentity(last), store.getDatasetView(last, 'ds')]);
    expect(lastIdentity).toBeUndefined();
    expect(lastView.identity).toBeUndefined();
    const [created, settings, modified] = await Promise.all([
      store.createIdentity(late, { poolMustExist: true }),
      store.updatePoolSyncSettings(P, (s) => s),
      store.modifyIdentityPool(P, (p) => p),
    ]);
    const listed = await store.listIdentityPools({ limit: 10 });
    expect(await deleted).toBe(true);
    expect({ created, settings, modified }).toEqual({ created: false, settings: undefined, modified: undefined });
    expect(listed.map((p) => p.identityPoolId)).toEqual([KEPT]);
    expect(await store.getIdentity(late.identityId)).toBeUndefined();
    expect(await store.getIdentity(ids.at(-1)!)).toBeUndefined();
    expect((await store.getPoolSyncSettings(P)).events).toEqual({});
  });
};
