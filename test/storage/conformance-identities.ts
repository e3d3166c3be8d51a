import { expect } from 'vitest';
import type { SyncStore } from '../../src/storage/store.js';
import type { IdentityPool, Login } from '../../src/storage/types.js';
import { ALL, command, device, emptyUsage, identity, pool, putPlan, write, type ConformancePart } from './conformance.js';

/**
 * The identity part of the SyncStore conformance suite (runStoreConformance calls it): identity updates and
 * deletion, logins, merges (SPEC §5.7) and the pool's roles. Engine-neutral, like the rest of the suite.
 */
export const runIdentityConformance: ConformancePart = (test, getStore) => {
  const P = 'us-east-1:pool-1';
  const Q = 'us-east-1:pool-2';
  const S = 'us-east-1:survivor';
  const M = 'us-east-1:merged';
  const login = (identityId: string, providerName: string, subject: string, over: Partial<Login> = {}): Login => ({
    identityPoolId: P, providerName, subject, identityId, linkedAt: 1000, ...over,
  });
  const suffixed = (name: string) => `${name}.${M}`;

  // --- logins -----------------------------------------------------------------------------------------------
  test('logins: link, find, list by (provider, subject), unlink', async () => {
    const store = getStore();
    for (const id of [S, M]) await store.createIdentity(identity(id, P));
    const links = [login(S, 'login.dev', 'u2'), login(S, 'accounts.google.com', 'g1'), login(S, 'login.dev', 'u1')];
    for (const l of links) expect(await store.linkLogin(l)).toEqual(l);
    await store.linkLogin(login(M, 'graph.facebook.com', 'f1'));
    expect(await store.findLogin(P, 'login.dev', 'u1')).toEqual(links[2]);
    expect(await store.findLogin(P, 'login.dev', 'nobody')).toBeUndefined();
    // A subject holding U+0000 (PostgreSQL's text cannot carry one) is nobody's, and unlinks nothing.
    expect(await store.findLogin(P, 'login.dev', 'u1\u0000')).toBeUndefined();
    expect(await store.unlinkLogins(S, [{ providerName: 'login.dev', subject: 'u1\u0000' }], 3000)).toBe(0);
    expect(await store.listLogins(S)).toEqual([links[1], links[2], links[0]]);
    expect(await store.listLogins(M)).toEqual([login(M, 'graph.facebook.com', 'f1')]);
    expect(await store.listLogins('us-east-1:none')).toEqual([]);

    const u1 = { providerName: 'login.dev', subject: 'u1' };
    expect(await store.unlinkLogins(S, [u1], 3000)).toBe(1);
    expect(await store.unlinkLogins(S, [u1], 3000)).toBe(0);
    // Only the identity the login is linked to can unlink it.
    expect(await store.unlinkLogins(M, [{ providerName: 'accounts.google.com', subject: 'g1' }], 3000)).toBe(0);
    expect(await store.findLogin(P, 'login.dev', 'u1')).toBeUndefined();
    expect(await store.listLogins(S)).toEqual([links[1], links[0]]);
  });

  test('logins of several identities: one call answers each as listLogins does, keyed in the order given', async () => {
    const store = getStore();
    const G = 'us-east-1:guest';
    const O = 'us-east-1:other-pool';
    for (const id of [S, M, G]) await store.createIdentity(identity(id, P));
    await store.createIdentity(identity(O, Q));
    // Upper case before lower and 'é' after 'z' (code point order), as listLogins orders them on every engine.
    const links = [
      login(S, 'login.dev', 'u2'), login(S, 'login.dev', 'U1'), login(S, 'accounts.google.com', 'g1'),
      login(S, 'Zeta.example', 'é'), login(S, 'Zeta.example', 'z'), login(M, 'graph.facebook.com', 'f1'),
      login(O, 'login.dev', 'u2', { identityPoolId: Q }),
    ];
    for (const l of links) expect(await store.linkLogin(l)).toEqual(l);
    const none = 'us-east-1:none';
    const asked = [M, none, S, G, O, S];
    const got = await store.listLoginsOf(asked);
    expect([...got.keys()]).toEqual([M, none, S, G, O]);
    for (const id of got.keys()) expect(got.get(id)).toEqual(await store.listLogins(id));
    expect(got.get(S)).toEqual([links[4], links[3], links[2], links[1], links[0]]);
    expect(got.get(none)).toEqual([]);
    expect(got.get(G)).toEqual([]);
    expect(await store.listLoginsOf([])).toEqual(new Map());
  });

  test('logins: linking a login another identity owns changes nothing and returns the owner', async () => {
    const store = getStore();
    for (const id of [S, M]) await store.createIdentity(identity(id, P));
    const owned = login(M, 'accounts.google.com', 'g1', { linkedAt: 1000 });
    await store.linkLogin(owned);
    expect(await store.linkLogin(login(S, 'accounts.google.com', 'g1', { linkedAt: 2000 }))).toEqual(owned);
    // Linking again to its owner keeps the original link.
    expect(await store.linkLogin(login(M, 'accounts.google.com', 'g1', { linkedAt: 3000 }))).toEqual(owned);
    expect(await store.listLogins(S)).toEqual([]);
    expect(await store.findLogin(P, 'accounts.google.com', 'g1')).toEqual(owned);
  });

  test('logins: the same provider and subject in two pools are independent', async () => {
    const store = getStore();
    await store.createIdentity(identity(S, P));
    await store.createIdentity(identity(M, Q));
    const inP = login(S, 'accounts.google.com', 'g1');
    const inQ = login(M, 'accounts.google.com', 'g1', { identityPoolId: Q, linkedAt: 2000 });
    expect(await store.linkLogin(inP)).toEqual(inP);
    expect(await store.linkLogin(inQ)).toEqual(inQ);
    expect(await store.findLogin(P, 'accounts.google.com', 'g1')).toEqual(inP);
    expect(await store.findLogin(Q, 'accounts.google.com', 'g1')).toEqual(inQ);
    expect(await store.unlinkLogins(S, [{ providerName: 'accounts.google.com', subject: 'g1' }], 3000)).toBe(1);
    expect(await store.findLogin(P, 'accounts.google.com', 'g1')).toBeUndefined();
    expect(await store.findLogin(Q, 'accounts.google.com', 'g1')).toEqual(inQ);
  });

  // --- identities -------------------------------------------------------------------------------------------
  test('linkLogin touches the identity when it links, and only then', async () => {
    const store = getStore();
    for (const id of [S, M]) await store.createIdentity(identity(id, P));
    await store.linkLogin(login(S, 'login.dev', 'u1', { linkedAt: 5000 }));
    expect(await store.getIdentity(S)).toEqual(identity(S, P, { lastModifiedAt: 5000 }));
    // Already linked, to it or to another identity: nothing changes.
    await store.linkLogin(login(S, 'login.dev', 'u1', { linkedAt: 6000 }));
    await store.linkLogin(login(M, 'login.dev', 'u1', { linkedAt: 7000 }));
    expect(await store.getIdentity(S)).toEqual(identity(S, P, { lastModifiedAt: 5000 }));
    expect(await store.getIdentity(M)).toEqual(identity(M, P));
  });

  test('unlinkLogins removes the listed logins, touches the identity and disables it when none is left', async () => {
    const store = getStore();
    for (const id of [S, M]) await store.createIdentity(identity(id, P));
    for (const subject of ['u1', 'u2']) await store.linkLogin(login(S, 'login.dev', subject));
    const [u1, u2] = [{ providerName: 'login.dev', subject: 'u1' }, { providerName: 'login.dev', subject: 'u2' }];
    const nobody = { providerName: 'login.dev', subject: 'nobody' };
    // Nothing of the list is linked: nothing changes, not even a guest identity with no login at all.
    expect(await store.unlinkLogins(S, [nobody], 3000)).toBe(0);
    expect(await store.unlinkLogins(M, [u1], 3000)).toBe(0);
    expect(await store.getIdentity(S)).toEqual(identity(S, P, { lastModifiedAt: 1000 }));
    expect(await store.getIdentity(M)).toEqual(identity(M, P));
    // One of two: touched, still enabled.
    expect(await store.unlinkLogins(S, [u1, nobody], 4000)).toBe(1);
    expect(await store.getIdentity(S)).toEqual(identity(S, P, { lastModifiedAt: 4000 }));
    // The last one: disabled, its data kept.
    expect(await store.unlinkLogins(S, [u2, u1], 5000)).toBe(1);
    expect(await store.getIdentity(S)).toEqual(identity(S, P, { lastModifiedAt: 5000, disabled: true }));
    expect(await store.listLogins(S)).toEqual([]);
    expect(await store.unlinkLogins('us-east-1:none', [u1], 6000)).toBeUndefined();
    expect(await store.getIdentity('us-east-1:none')).toBeUndefined();
  });

  test('deleteIdentity racing an identity\'s first write, link or device: each lands before it (and is deleted) or finds no identity', async () => {
    const store = getStore();
    for (let round = 0; round < 20; round++) {
      const id = `us-east-1:racing-${round}`;
      await store.createIdentity(identity(id, P));
      const c = command(id, 'ds', ['k'], { identityPoolId: P });
      const planned = putPlan(c, { k: 'v' });
      // As UpdateRecords plans: an identity gone by the time the write reads its state is not written for.
      const writing = store.writeRecords(c, (state) => {
        if (!state.identity) throw new Error('no such identity');
        return planned(state);
      }).catch(() => undefined);
      // So do a login linked and a device registered to it at the same time: each lands before the deletion (and is
      // deleted with it) or finds no identity.
      const linking = store.linkLogin(login(id, 'login.dev', `racer-${round}`));
      const registering = store.registerDevice(device(`racing-dev-${round}`, id));
      await Promise.all([writing, linking, registering, store.deleteIdentity(id)]);
      expect(await store.getDataset(id, 'ds')).toBeUndefined();
      expect(await store.listRecords(id, 'ds', ALL, { limit: 10 })).toEqual([]);
      expect(await store.findLogin(P, 'login.dev', `racer-${round}`)).toBeUndefined();
      expect(await store.getDevice(id, `racing-dev-${round}`)).toBeUndefined();
    }
  });

  test('deleteIdentity removes the identity with its logins, datasets, records, devices and subscriptions', async () => {
    const store = getStore();
    for (const id of [S, M]) {
      await store.createIdentity(identity(id, P));
      await store.linkLogin(login(id, 'login.dev', `user-of-${id}`));
      await write(store, id, 'ds', { k: 'v' }, { poolId: P });
      await write(store, id, 'gone', { k: 'v' }, { poolId: P });
      await store.deleteDataset(id, 'gone', 3000);
      await store.registerDevice(device(`dev-${id}`, id));
      await store.subscribe(id, 'ds', `dev-${id}`, 1);
    }
    expect(await store.deleteIdentity(S)).toBe(true);
    expect(await store.getIdentity(S)).toBeUndefined();
    expect(await store.listLogins(S)).toEqual([]);
    expect(await store.findLogin(P, 'login.dev', `user-of-${S}`)).toBeUndefined();
    for (const ds of ['ds', 'gone']) expect(await store.getDataset(S, ds)).toBeUndefined();
    expect(await store.listRecords(S, 'ds', ALL, { limit: 10 })).toEqual([]);
    expect(await store.getDevice(S, `dev-${S}`)).toBeUndefined();
    expect(await store.listSubscribedDevices(S, 'ds')).toEqual([]);
    expect(await store.getIdentityUsage(S)).toEqual({ datasetCount: 0, dataStorage: 0, lastModifiedAt: null });
    expect(await store.deleteIdentity(S)).toBe(false);
    // The freed login can be linked again.
    expect((await store.linkLogin(login(M, 'login.dev', `user-of-${S}`)))?.identityId).toBe(M);

    // The other identity is untouched, but for the links (linkedAt 1000).
    expect(await store.getIdentity(M)).toEqual(identity(M, P, { lastModifiedAt: 1000 }));
    expect(await store.findLogin(P, 'login.dev', `user-of-${M}`)).toMatchObject({ identityId: M });
    expect(await store.getDataset(M, 'ds')).toMatchObject({ numRecords: 1, deleted: false });
    expect(await store.getDataset(M, 'gone')).toMatchObject({ deleted: true });
    expect(await store.listSubscribedDevices(M, 'ds')).toHaveLength(1);
  });

  // --- merges -------------------------------------------------------------------------------------------------
  /** S owns one login and `profile`; M owns two logins, `profile` (with a tombstone), `settings`, a deleted `old`. */
  async function mergeFixture(store: SyncStore): Promise<void> {
    await store.createIdentity(identity(S, P));
    await store.createIdentity(identity(M, P, { createdAt: 1100 }));
    await store.linkLogin(login(S, 'graph.facebook.com', 'fb-s'));
    await store.linkLogin(login(M, 'accounts.google.com', 'g-m', { linkedAt: 1500 }));
    await store.linkLogin(login(M, 'login.dev', 'dev-m', { linkedAt: 1600 }));
    await write(store, S, 'profile', { a: '1' }, { poolId: P, now: 1000 });
    await write(store, M, 'profile', { a: 'x', b: 'yy', t: 'gone' }, { poolId: P, now: 1500 });
    await write(store, M, 'profile', { t: null }, { poolId: P, now: 1600 });
    await write(store, M, 'settings', { k: 'v' }, { poolId: P, now: 1700 });
    await write(store, M, 'old', { z: '1' }, { poolId: P, now: 1800 });
    await store.deleteDataset(M, 'old', 1900);
    await store.registerDevice(device('dev-m', M));
    await store.subscribe(M, 'profile', 'dev-m', 1);
  }

  test('an identity merged away (disabled) takes no new login and no merge; a pool deleted takes no new identity', async () => {
    const store = getStore();
    await mergeFixture(store);
    await store.mergeIdentities({ survivorId: S, mergedId: M, now: 5000, datasetName: suffixed });
    // M is disabled now: a link or a merge that read it before the merge finds it gone.
    expect(await store.linkLogin(login(M, 'login.dev', 'late-user'))).toBeUndefined();
    expect(await store.mergeIdentities({ survivorId: M, mergedId: S, now: 6000, datasetName: suffixed })).toBeUndefined();
    await store.createIdentity(identity('us-east-1:third', P));
    expect(await store.mergeIdentities({ survivorId: 'us-east-1:third', mergedId: M, now: 6000, datasetName: suffixed })).toBeUndefined();
    expect((await store.listLogins('us-east-1:third'))).toEqual([]);

    await store.createIdentityPool(pool('us-east-1:doomed-pool'));
    const racing = Array.from({ length: 10 }, (_, i) =>
      store.createIdentity(identity(`us-east-1:newcomer-${i}`, 'us-east-1:doomed-pool'), { poolMustExist: true }));
    await Promise.all([...racing, store.deleteIdentityPool('us-east-1:doomed-pool')]);
    for (let i = 0; i < 10; i++) expect(await store.getIdentity(`us-east-1:newcomer-${i}`)).toBeUndefined();
    expect(await store.createIdentity(identity('us-east-1:late', 'us-east-1:doomed-pool'), { poolMustExist: true })).toBe(false);
  });

  test('mergeIdentities: nothing is merged, and undefined answered, when either identity was deleted', async () => {
    const store = getStore();
    await mergeFixture(store);
    expect(await store.deleteIdentity(M)).toBe(true);
    expect(await store.mergeIdentities({ survivorId: S, mergedId: M, now: 5000, datasetName: suffixed })).toBeUndefined();
    expect(await store.mergeIdentities({ survivorId: M, mergedId: S, now: 5000, datasetName: suffixed })).toBeUndefined();
    expect(await store.getIdentity(S)).toMatchObject({ disabled: false });
    expect((await store.listLogins(S)).map((l) => l.subject)).toEqual(['fb-s']);
  });

  test('mergeIdentities: logins move, the merged identity is disabled, both are touched', async () => {
    const store = getStore();
    await mergeFixture(store);
    const outcome = await store.mergeIdentities({ survivorId: S, mergedId: M, now: 5000, datasetName: suffixed });
    expect(outcome?.movedLogins).toBe(2);
    expect([...outcome?.movedDatasets ?? []].sort()).toEqual([suffixed('profile'), suffixed('settings')]);
    expect(await store.listLogins(S)).toEqual([
      login(S, 'accounts.google.com', 'g-m', { linkedAt: 1500 }),
      login(S, 'graph.facebook.com', 'fb-s'),
      login(S, 'login.dev', 'dev-m', { linkedAt: 1600 }),
    ]);
    expect(await store.listLogins(M)).toEqual([]);
    expect(await store.findLogin(P, 'login.dev', 'dev-m')).toMatchObject({ identityId: S });
    expect(await store.getIdentity(M)).toEqual(identity(M, P, { createdAt: 1100, lastModifiedAt: 5000, disabled: true }));
    expect(await store.getIdentity(S)).toEqual(identity(S, P, { lastModifiedAt: 5000 }));
  });

  test('mergeIdentities: live datasets move renamed, at sync count 1, without tombstones', async () => {
    const store = getStore();
    await mergeFixture(store);
    await store.mergeIdentities({ survivorId: S, mergedId: M, now: 5000, datasetName: suffixed });

    expect(await store.getDataset(S, suffixed('profile'))).toMatchObject({
      identityId: S, datasetName: suffixed('profile'), syncCount: 1, deleted: false, lastDeletedAtSyncCount: null,
      createdAt: 1500, lastModifiedAt: 5000, numRecords: 2, dataStorage: 5, mergeParent: 'profile',
    });
    expect(await store.getDataset(S, suffixed('settings'))).toMatchObject({
      syncCount: 1, createdAt: 1700, lastModifiedAt: 5000, numRecords: 1, dataStorage: 2, mergeParent: 'settings',
    });
    const records = await store.listRecords(S, suffixed('profile'), ALL, { limit: 10 });
    expect(records.map(({ key, value, syncCount }) => ({ key, value, syncCount }))).toEqual([
      { key: 'a', value: 'x', syncCount: 1 }, { key: 'b', value: 'yy', syncCount: 1 },
    ]);
    expect(await store.listMergedDatasetNames(S, 'profile')).toEqual([suffixed('profile')]);
    expect(await store.listMergedDatasetNames(S, 'settings')).toEqual([suffixed('settings')]);
    // The deleted dataset does not move.
    expect(await store.getDataset(S, suffixed('old'))).toBeUndefined();
    // The survivor's own dataset is untouched.
    expect(await store.getDataset(S, 'profile')).toMatchObject({ syncCount: 1, numRecords: 1, lastModifiedAt: 1000, mergeParent: null });
    expect((await store.listRecords(S, 'profile', ALL, { limit: 10 })).map((r) => r.value)).toEqual(['1']);
    expect((await store.listDatasets(S, { limit: 10 })).map((d) => d.datasetName))
      .toEqual(['profile', suffixed('profile'), suffixed('settings')].sort());

    // Nothing sync-related is left under the merged identity: datasets (deleted ones too), records, devices.
    for (const ds of ['profile', 'settings', 'old']) {
      expect(await store.getDataset(M, ds)).toBeUndefined();
      expect(await store.listRecords(M, ds, ALL, { limit: 10 })).toEqual([]);
    }
    expect(await store.listDatasets(M, { limit: 10 })).toEqual([]);
    expect(await store.getDevice(M, 'dev-m')).toBeUndefined();
    expect(await store.listSubscribedDevices(M, 'profile')).toEqual([]);
  });

  test('mergeIdentities: a name the survivor holds, live or deleted, is offered as taken and never replaced', async () => {
    const store = getStore();
    await mergeFixture(store);
    // The survivor already holds both names a plain rename gives: one live (as a Sync Manager's own re-parenting
    // makes), one deleted (its count must never go back).
    await write(store, S, suffixed('profile'), { mine: '1' }, { poolId: P, now: 2000 });
    await write(store, S, suffixed('profile'), { mine: '2' }, { poolId: P, now: 2100 });
    await write(store, S, suffixed('settings'), { s: '1' }, { poolId: P, now: 2200 });
    await store.deleteDataset(S, suffixed('settings'), 2300);
    const offered: string[][] = [];
    const renamed = (name: string, taken: ReadonlySet<string>) => {
      offered.push([...taken].sort());
      return taken.has(suffixed(name)) ? `${name}-2.${M}` : suffixed(name);
    };
    const outcome = await store.mergeIdentities({ survivorId: S, mergedId: M, now: 5000, datasetName: renamed });
    expect([...outcome?.movedDatasets ?? []].sort()).toEqual([`profile-2.${M}`, `settings-2.${M}`]);
    // Every name of the survivor, deleted ones included, then also the names given earlier in the merge.
    expect(offered).toEqual([
      ['profile', suffixed('profile'), suffixed('settings')].sort(),
      ['profile', suffixed('profile'), `profile-2.${M}`, suffixed('settings')].sort(),
    ]);
    expect(await store.getDataset(S, suffixed('profile'))).toMatchObject({ syncCount: 2, numRecords: 1, mergeParent: null });
    expect((await store.listRecords(S, suffixed('profile'), ALL, { limit: 10 })).map((r) => [r.key, r.value]))
      .toEqual([['mine', '2']]);
    expect(await store.getDataset(S, suffixed('settings'))).toMatchObject({ deleted: true, lastDeletedAtSyncCount: 1 });
    expect(await store.getDataset(S, `profile-2.${M}`)).toMatchObject({ syncCount: 1, numRecords: 2, mergeParent: 'profile' });
    expect(await store.getDataset(S, `settings-2.${M}`)).toMatchObject({ syncCount: 1, numRecords: 1, mergeParent: 'settings' });
    expect(await store.listMergedDatasetNames(S, 'profile')).toEqual([`profile-2.${M}`]);
  });

  test('mergeIdentities: usage figures of both identities add up afterwards', async () => {
    const store = getStore();
    await mergeFixture(store);
    const before = [await store.getIdentityUsage(S), await store.getIdentityUsage(M)] as const;
    const poolBefore = (await store.getPoolUsage([P]))[0]!;
    await store.mergeIdentities({ survivorId: S, mergedId: M, now: 5000, datasetName: suffixed });
    expect(await store.getIdentityUsage(S)).toEqual({
      datasetCount: before[0].datasetCount + before[1].datasetCount,
      dataStorage: before[0].dataStorage + before[1].dataStorage,
      lastModifiedAt: 5000,
    });
    expect(await store.getIdentityUsage(M)).toEqual({ datasetCount: 0, dataStorage: 0, lastModifiedAt: null });
    expect((await store.getPoolUsage([P]))[0]).toMatchObject({ dataStorage: poolBefore.dataStorage, lastModifiedAt: 5000 });
  });

  test('mergeIdentities: refuses itself or another pool, answers undefined for a missing identity, changing nothing', async () => {
    const store = getStore();
    await mergeFixture(store);
    await store.createIdentity(identity('us-east-1:elsewhere', Q));
    const attempts = [
      { survivorId: S, mergedId: S },
      { survivorId: 'us-east-1:elsewhere', mergedId: M },
      { survivorId: M, mergedId: 'us-east-1:elsewhere' },
    ];
    for (const ids of attempts) {
      await expect(store.mergeIdentities({ ...ids, now: 5000, datasetName: suffixed })).rejects.toBeInstanceOf(Error);
    }
    for (const ids of [{ survivorId: S, mergedId: 'us-east-1:none' }, { survivorId: 'us-east-1:none', mergedId: M }]) {
      await expect(store.mergeIdentities({ ...ids, now: 5000, datasetName: suffixed })).resolves.toBeUndefined();
    }
    // A merge that fails half-way (here: the naming callback) is undone as a whole.
    const boom = new Error('boom');
    await expect(store.mergeIdentities({
      survivorId: S, mergedId: M, now: 5000, datasetName: (name) => { if (name === 'settings') throw boom; return suffixed(name); },
    })).rejects.toBe(boom);

    // As the fixture's links left them.
    expect(await store.getIdentity(M)).toEqual(identity(M, P, { createdAt: 1100, lastModifiedAt: 1600 }));
    expect(await store.getIdentity(S)).toEqual(identity(S, P, { lastModifiedAt: 1000 }));
    expect(await store.listLogins(M)).toHaveLength(2);
    expect(await store.listLogins(S)).toHaveLength(1);
    expect(await store.getDataset(M, 'profile')).toMatchObject({ syncCount: 2, numRecords: 2 });
    expect(await store.getDataset(M, 'old')).toMatchObject({ deleted: true });
    expect(await store.listMergedDatasetNames(S, 'profile')).toEqual([]);
    expect(await store.getDevice(M, 'dev-m')).toBeDefined();
  });

  // --- identity pools ---------------------------------------------------------------------------------------
  test('identity pools: roles, role mappings and principal tag maps round-trip through create and update', async () => {
    const store = getStore();
    expect(pool(P)).toMatchObject({ roles: {}, roleMappings: {}, principalTagMaps: {} });
    const withRoles: IdentityPool = {
      ...pool(P),
      roles: { authenticated: 'arn:aws:iam::123456789012:role/auth', unauthenticated: 'arn:aws:iam::123456789012:role/guest' },
      roleMappings: {
        'cognito-idp.us-east-1.amazonaws.com/us-east-1_abc:client': {
          Type: 'Rules', AmbiguousRoleResolution: 'AuthenticatedRole',
          RulesConfiguration: { Rules: [{ Claim: 'isAdmin', MatchType: 'Equals', Value: 'yes', RoleARN: 'arn:admin' }] },
        },
      },
      principalTagMaps: {
        'graph.facebook.com': { useDefaults: false, principalTags: { department: 'custom:dept', app: 'aud' } },
        'cognito-idp.us-east-1.amazonaws.com/pool': { useDefaults: true, principalTags: {} },
      },
    };
    await store.createIdentityPool(withRoles);
    await store.createIdentityPool(pool(Q));
    expect(await store.getIdentityPool(P)).toEqual(withRoles);
    expect(await store.getIdentityPool(Q)).toEqual(pool(Q));
    const changed: IdentityPool = {
      ...withRoles, roles: { authenticated: 'arn:other' }, roleMappings: {},
      principalTagMaps: { 'graph.facebook.com': { useDefaults: true, principalTags: { team: 'custom:team' } } },
    };
    expect(await store.modifyIdentityPool(P, () => changed)).toEqual(changed);
    expect(await store.getIdentityPool(P)).toEqual(changed);
    expect(await store.listIdentityPools({ limit: 10 })).toEqual([changed, pool(Q)]);
  });

  test('identity pools: delete removes the pool\'s logins, and only them', async () => {
    const store = getStore();
    for (const [p, id] of [[P, S], [Q, M]] as const) {
      await store.createIdentityPool(pool(p));
      await store.createIdentity(identity(id, p));
      await store.linkLogin(login(id, 'accounts.google.com', 'g1', { identityPoolId: p }));
    }
    expect(await store.deleteIdentityPool(P)).toBe(true);
    expect(await store.findLogin(P, 'accounts.google.com', 'g1')).toBeUndefined();
    expect(await store.listLogins(S)).toEqual([]);
    expect(await store.findLogin(Q, 'accounts.google.com', 'g1')).toMatchObject({ identityId: M });
    expect(await store.listLogins(M)).toHaveLength(1);
    expect(await store.getPoolUsage([P])).toEqual([emptyUsage(P)]);
  });
};
