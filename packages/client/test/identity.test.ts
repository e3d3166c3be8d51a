/**
 * Identity changes against the real server with a throwaway OpenID issuer: a guest who signs in is merged into
 * the account (synced data through the server's `<name>.<guestId>` dataset, unsynced data moved locally), an
 * account switch keeps each identity's local data apart, and a login nobody owns authenticates the guest in place.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListDatasetsCommand } from '@aws-sdk/client-cognito-sync';
import { clients, device, startServerWithLogins, type TestServer } from './support.js';
import { ClosedError, MemoryStore } from '../src/index.js';
import { loginsFingerprint } from '../src/identity.js';

let t: TestServer;
let poolId: string;
let login: (sub: string) => Promise<Record<string, string>>;
let close: () => Promise<void>;
let clock = Date.UTC(2026, 0, 1);
const now = () => (clock += 1000);

beforeAll(async () => {
  ({ t, poolId, login, close } = await startServerWithLogins('login.client.test', 'client-app'));
});
afterAll(() => close());

async function serverDatasets(identityId: string): Promise<string[]> {
  const out = await clients(t).sync.send(new ListDatasetsCommand({ IdentityPoolId: poolId, IdentityId: identityId }));
  return (out.Datasets ?? []).map((d) => d.DatasetName ?? '').sort();
}

describe('a guest signing in to an existing account', () => {
  it('merges synced and unsynced guest data into the account, and both devices converge', async () => {
    const laptop = device(t, poolId, { logins: await login('alice'), now });
    const settingsL = await laptop.client.openDataset('settings');
    await settingsL.put('theme', 'light');
    await settingsL.put('font', 'serif');
    await settingsL.synchronize();
    const accountId = await laptop.client.identityId();

    const phone = device(t, poolId, { now });
    const guestId = await phone.client.identityId();
    expect(guestId).not.toBe(accountId);
    const guestSettings = await phone.client.openDataset('settings');
    await guestSettings.put('theme', 'dark');
    await guestSettings.put('empty', '');
    await guestSettings.synchronize();
    await guestSettings.put('volume', '8');

    const change = await phone.client.login(await login('alice'));
    expect(change).toEqual({ previousId: guestId, identityId: accountId, merged: true });
    await expect(guestSettings.put('late', 'x')).rejects.toBeInstanceOf(ClosedError);
    expect(await serverDatasets(accountId)).toEqual(['settings', `settings.${guestId}`]);

    const settingsP = await phone.client.openDataset('settings');
    expect(settingsP.getAll()).toEqual({ volume: '8' });
    const merged = await settingsP.synchronize();
    expect(merged.mergedDatasets).toEqual([`settings.${guestId}`]);
    expect(await serverDatasets(accountId)).toEqual(['settings']);
    await settingsL.synchronize();
    const expected = { theme: 'dark', font: 'serif', volume: '8', empty: '' };
    expect(settingsP.getAll()).toEqual(expected);
    expect(settingsL.getAll()).toEqual(expected);
    expect(await phone.client.localDatasets()).toEqual(['settings']);
  });

  it('authenticates the guest in place when nobody owns the login', async () => {
    const phone = device(t, poolId, { now });
    const guestId = await phone.client.identityId();
    const ds = await phone.client.openDataset('notes');
    await ds.put('n', 'kept');
    const change = await phone.client.login(await login('bob'));
    expect(change).toEqual({ previousId: guestId, identityId: guestId, merged: false });
    const again = await phone.client.openDataset('notes');
    expect(again.get('n')).toBe('kept');
    await again.synchronize();
    expect(await serverDatasets(guestId)).toEqual(['notes']);
  });
});

describe('the issue\'s acceptance: two devices, offline and online, a guest login in between', () => {
  it('converges on the latest write of every key', async () => {
    const laptop = device(t, poolId, { logins: await login('gina'), now });
    const phone = device(t, poolId, { now });
    const onLaptop = await laptop.client.openDataset('todo');
    let onPhone = await phone.client.openDataset('todo');
    await onLaptop.put('milk', 'buy');
    await onLaptop.put('eggs', 'buy');
    await onLaptop.synchronize();

    laptop.network.online = false;
    phone.network.online = false;
    await onPhone.put('milk', 'bought on the phone');   // older than the laptop's edit below
    await onLaptop.put('milk', 'bought on the laptop');
    await onLaptop.remove('eggs');
    await onPhone.put('bread', '');
    phone.network.online = true;
    await onPhone.synchronize();                          // as a guest
    await onPhone.put('jam', 'guest, unsynced');
    await phone.client.login(await login('gina'));
    onPhone = await phone.client.openDataset('todo');
    await onPhone.synchronize();
    laptop.network.online = true;
    await onLaptop.synchronize();
    await onPhone.synchronize();

    const expected = { milk: 'bought on the laptop', bread: '', jam: 'guest, unsynced' };
    expect(onLaptop.getAll()).toEqual(expected);
    expect(onPhone.getAll()).toEqual(expected);
    expect([onLaptop.pendingChanges(), onPhone.pendingChanges()]).toEqual([0, 0]);
  });
});

describe('a guest app restarted with logins', () => {
  it('merges the stored guest like login() does, unsynced changes and pending deletions included', async () => {
    const store = new MemoryStore();
    const account = device(t, poolId, { logins: await login('frank'), now });
    const accountId = await account.client.identityId();
    const guest = device(t, poolId, { store, now });
    const guestId = await guest.client.identityId();
    const notes = await guest.client.openDataset('notes');
    await notes.put('n', 'synced as a guest');
    await notes.synchronize();
    await notes.delete();
    const prefs = await guest.client.openDataset('prefs');
    await prefs.put('p', 'unsynced');
    await guest.client.close();

    const restarted = device(t, poolId, { store, logins: await login('frank'), now });
    expect(await restarted.client.identityId()).toBe(accountId);
    expect(await restarted.client.localDatasets()).toEqual(['prefs']);
    expect((await restarted.client.openDataset('prefs')).getAll()).toEqual({ p: 'unsynced' });
    // The guest's deleted dataset was deleted before the merge, so nothing of it reaches the account.
    expect(await serverDatasets(accountId)).toEqual([]);
    expect(guestId).not.toBe(accountId);
  });
});

describe('a signed-in app started offline', () => {
  it('resumes the stored identity only for the logins it was obtained for, never for another user\'s', async () => {
    const store = new MemoryStore();
    const alice = device(t, poolId, { store, logins: await login('ivy'), now });
    const aliceId = await alice.client.identityId();
    const diary = await alice.client.openDataset('private');
    await diary.put('diary', 'secret');
    await diary.synchronize();
    await alice.client.close();

    // The same user offline, with a fresh token (from a function, as apps refresh them): her identity and data.
    const fresh = async () => (await login('ivy'))['login.client.test'] ?? '';
    const again = device(t, poolId, { store, logins: { 'login.client.test': fresh }, now });
    again.network.online = false;
    expect(await again.client.identityId()).toBe(aliceId);
    expect((await again.client.openDataset('private')).getAll()).toEqual({ diary: 'secret' });
    await again.client.close();

    // Another user signs in on the same device while offline: the start fails, nothing of the first user shows.
    const bob = device(t, poolId, { store, logins: await login('jack'), now });
    bob.network.online = false;
    await expect(bob.client.identityId()).rejects.toThrow(/cannot start offline with these logins/);
    await expect(bob.client.openDataset('private')).rejects.toThrow(/cannot start offline/);
    bob.network.online = true;
    const bobId = await bob.client.identityId();
    expect(bobId).not.toBe(aliceId);
    expect((await bob.client.openDataset('private')).getAll()).toEqual({});
  });
});

describe('who a set of logins names (the offline start\'s test)', () => {
  const jwt = (claims: object) => `h.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.s`;

  it('a JWT by its subject, whatever else a refresh changes (the issuer\'s form included)', async () => {
    const a = await loginsFingerprint({ 'accounts.google.com': jwt({ iss: 'accounts.google.com', sub: 'u1', exp: 1 }) });
    const b = await loginsFingerprint({ 'accounts.google.com': jwt({ iss: 'https://accounts.google.com', sub: 'u1', exp: 2 }) });
    expect(a).toBeDefined();
    expect(a).toBe(b);
    expect(await loginsFingerprint({ 'accounts.google.com': jwt({ iss: 'accounts.google.com', sub: 'u2' }) })).not.toBe(a);
    expect(await loginsFingerprint({ 'other.provider': jwt({ iss: 'accounts.google.com', sub: 'u1' }) })).not.toBe(a);
  });

  it('an opaque token by itself, and a failing token function names nobody', async () => {
    const fb = await loginsFingerprint({ 'graph.facebook.com': 'EAAopaque1' });
    expect(fb).toBeDefined();
    expect(await loginsFingerprint({ 'graph.facebook.com': async () => 'EAAopaque1' })).toBe(fb);
    expect(await loginsFingerprint({ 'graph.facebook.com': 'EAAopaque2' })).not.toBe(fb);
    expect(await loginsFingerprint({ 'graph.facebook.com': async () => { throw new Error('offline'); } })).toBeUndefined();
  });
});

describe('switching accounts', () => {
  it('keeps each identity\'s local data apart and never merges two accounts', async () => {
    const shared = device(t, poolId, { logins: await login('carol'), now });
    const carolId = await shared.client.identityId();
    const carol = await shared.client.openDataset('profile');
    await carol.put('name', 'Carol');
    await carol.synchronize();
    await carol.put('draft', 'unsynced');

    const toDave = await shared.client.login(await login('dave'));
    expect(toDave.merged).toBe(false);
    expect(toDave.identityId).not.toBe(carolId);
    const dave = await shared.client.openDataset('profile');
    expect(dave.getAll()).toEqual({});
    await dave.put('name', 'Dave');
    await dave.synchronize();

    const back = await shared.client.login(await login('carol'));
    expect(back.identityId).toBe(carolId);
    const carolAgain = await shared.client.openDataset('profile');
    expect(carolAgain.getAll()).toEqual({ name: 'Carol', draft: 'unsynced' });
    await carolAgain.synchronize();
    expect(await serverDatasets(toDave.identityId)).toEqual(['profile']);
    expect(carolAgain.getAll()).toEqual({ name: 'Carol', draft: 'unsynced' });
  });

  it('signs out to a new guest', async () => {
    const d = device(t, poolId, { logins: await login('erin'), now });
    const erinId = await d.client.identityId();
    const out = await d.client.logout();
    expect(out.previousId).toBe(erinId);
    expect(out.identityId).not.toBe(erinId);
    expect((await d.client.openDataset('x')).getAll()).toEqual({});
  });
});
