/**
 * Identity merges (SPEC §5.7, §14): a guest who signs in with a login that already owns an identity joins it; the
 * guest identity is disabled and its datasets move to the survivor as `<name>.<guestId>` (sync count 1), reported
 * by ListRecords on `<name>` in MergedDatasetNames until deleted. A login nobody owns just authenticates the
 * guest in place. MergeDeveloperIdentities merges two developer users explicitly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateIdentityPoolCommand, DescribeIdentityCommand, GetCredentialsForIdentityCommand, GetOpenIdTokenForDeveloperIdentityCommand,
  ListIdentitiesCommand, LookupDeveloperIdentityCommand, MergeDeveloperIdentitiesCommand,
} from '@aws-sdk/client-cognito-identity';
import { DeleteDatasetCommand, DescribeDatasetCommand, ListDatasetsCommand, ListRecordsCommand } from '@aws-sdk/client-cognito-sync';
import { clients, type TestServer } from '../helpers/server.js';
import { oidcProviderArn, startLoginServer } from '../helpers/login-server.js';
import type { OidcIssuer } from '../helpers/oidc-issuer.js';
import {
  expectRefused, identityCredentials, poolCredentials, readRecords, staticCredentials, syncClient, writeRecords,
} from './support.js';

const PROVIDER = 'login.test';
const SECOND = 'login.two';
const DEVELOPER = 'login.myapp';
const AUDIENCE = 'app-client';

let idp: OidcIssuer;
let t: TestServer;
let close: () => Promise<void>;
let poolId: string;
let devPoolId: string;
let users = 0;
const newUser = () => `merge-user-${++users}`;

beforeAll(async () => {
  ({ idp, t, close } = await startLoginServer([PROVIDER, SECOND], AUDIENCE));
  const { identity } = clients(t);
  poolId = (await identity.send(new CreateIdentityPoolCommand({
    IdentityPoolName: 'merge_pool', AllowUnauthenticatedIdentities: true, OpenIdConnectProviderARNs: [oidcProviderArn(PROVIDER), oidcProviderArn(SECOND)],
  }))).IdentityPoolId ?? '';
  devPoolId = (await identity.send(new CreateIdentityPoolCommand({
    IdentityPoolName: 'merge_dev_pool', AllowUnauthenticatedIdentities: false, DeveloperProviderName: DEVELOPER,
  }))).IdentityPoolId ?? '';
});
afterAll(() => close());

const login = (sub: string) => idp.mint({ sub, aud: AUDIENCE });
const dataset = (IdentityId: string, DatasetName: string, IdentityPoolId = poolId) => ({ IdentityPoolId, IdentityId, DatasetName });

describe('a guest who signs in with a login that already owns an identity', () => {
  let user: string;
  let accountId: string;
  let guestId: string;
  let guestSync: ReturnType<typeof syncClient>;
  let accountSettingsBefore: Awaited<ReturnType<typeof readRecords>>;

  beforeAll(async () => {
    user = newUser();
    // Device 1, earlier: the user signed in; the account identity A has its own data.
    const account = poolCredentials(t, poolId, { [PROVIDER]: await login(user) });
    accountId = (await account()).identityId;
    const accountSync = syncClient(t, account);
    await writeRecords(accountSync, dataset(accountId, 'settings'), { theme: 'light' });
    await writeRecords(accountSync, dataset(accountId, 'settings'), { theme: 'light', font: 'serif' });
    accountSettingsBefore = await readRecords(accountSync, dataset(accountId, 'settings'));

    // Device 2: used as a guest first.
    const guest = poolCredentials(t, poolId);
    guestId = (await guest()).identityId;
    guestSync = syncClient(t, await staticCredentials(guest));
    await writeRecords(guestSync, dataset(guestId, 'settings'), { theme: 'dark', volume: '7' });
    await writeRecords(guestSync, dataset(guestId, 'settings'), { theme: 'dark', volume: '8' });
    await writeRecords(guestSync, dataset(guestId, 'notes'), { n1: 'written as a guest' });
  });

  it('gets credentials for the account identity A when its cached guest ID is presented with the login', async () => {
    expect(guestId).not.toBe(accountId);
    // What the SDK does when logins are added to a cached identity: GetCredentialsForIdentity(guestId, logins).
    const merged = identityCredentials(t, guestId, { [PROVIDER]: await login(user) });
    const creds = await merged();
    expect(creds.accessKeyId).toMatch(/^ASIA/);
    // The answer names A (the SDK keeps the ID it was given; apps read the answer's IdentityId).
    const answer = await clients(t).identity.send(new GetCredentialsForIdentityCommand({
      IdentityId: guestId, Logins: { [PROVIDER]: await login(user) },
    }));
    expect(answer.IdentityId).toBe(accountId);
    // The credentials are A's: they reach A's data and not the old guest's.
    const sync = syncClient(t, merged);
    expect((await readRecords(sync, dataset(accountId, 'settings'))).values).toEqual({ theme: 'light', font: 'serif' });
    await expectRefused(sync.send(new ListRecordsCommand(dataset(guestId, 'settings'))), 'NotAuthorizedException', 403);
  });

  it('leaves A\'s own datasets unchanged', async () => {
    const sync = syncClient(t, poolCredentials(t, poolId, { [PROVIDER]: await login(user) }));
    const after = await readRecords(sync, dataset(accountId, 'settings'));
    expect(after.values).toEqual({ theme: 'light', font: 'serif' });
    expect(after.listed.DatasetSyncCount).toBe(accountSettingsBefore.listed.DatasetSyncCount);
    expect(after.records).toEqual(accountSettingsBefore.records);
    expect(after.listed.LastModifiedBy).toBe(accountId);
  });

  it('moves every guest dataset under A as <name>.<guestId>, at sync count 1, records readable', async () => {
    const sync = syncClient(t, poolCredentials(t, poolId, { [PROVIDER]: await login(user) }));
    const names = (await sync.send(new ListDatasetsCommand({ IdentityPoolId: poolId, IdentityId: accountId }))).Datasets?.map((d) => d.DatasetName);
    expect([...(names ?? [])].sort()).toEqual([`notes.${guestId}`, 'settings', `settings.${guestId}`].sort());

    const settings = await readRecords(sync, dataset(accountId, `settings.${guestId}`));
    expect(settings.values).toEqual({ theme: 'dark', volume: '8' });
    expect(settings.listed.DatasetSyncCount).toBe(1);
    expect(settings.listed.DatasetExists).toBe(true);
    expect(settings.records.map((r) => r.SyncCount)).toEqual([1, 1]);
    expect(settings.records.every((r) => r.LastModifiedBy === guestId)).toBe(true);
    const notes = await readRecords(sync, dataset(accountId, `notes.${guestId}`));
    expect(notes.values).toEqual({ n1: 'written as a guest' });
    expect(notes.listed.DatasetSyncCount).toBe(1);

    const described = await sync.send(new DescribeDatasetCommand(dataset(accountId, `settings.${guestId}`)));
    expect(described.Dataset).toMatchObject({ IdentityId: accountId, DatasetName: `settings.${guestId}`, NumRecords: 2 });
  });

  it('reports the merged dataset in MergedDatasetNames on every ListRecords of <name> until it is deleted', async () => {
    const sync = syncClient(t, poolCredentials(t, poolId, { [PROVIDER]: await login(user) }));
    for (let i = 0; i < 2; i++) {
      const listed = await sync.send(new ListRecordsCommand(dataset(accountId, 'settings')));
      expect(listed.MergedDatasetNames).toEqual([`settings.${guestId}`]);
    }
    // The app copies what it wants, then deletes the merged dataset; the report stops.
    await sync.send(new DeleteDatasetCommand(dataset(accountId, `settings.${guestId}`)));
    const listed = await sync.send(new ListRecordsCommand(dataset(accountId, 'settings')));
    expect(listed.MergedDatasetNames ?? []).toEqual([]);
    // Written again under the same name, it is a dataset of its own (SPEC §4.5): still no report.
    await writeRecords(sync, dataset(accountId, `settings.${guestId}`), { again: 'new data' });
    const afterRewrite = await sync.send(new ListRecordsCommand(dataset(accountId, 'settings')));
    expect(afterRewrite.MergedDatasetNames ?? []).toEqual([]);
    expect((await readRecords(sync, dataset(accountId, `notes.${guestId}`))).values).toEqual({ n1: 'written as a guest' });
  });

  it('reports a merged dataset even when the account has no dataset of that name yet', async () => {
    const sync = syncClient(t, poolCredentials(t, poolId, { [PROVIDER]: await login(user) }));
    const listed = await sync.send(new ListRecordsCommand(dataset(accountId, 'notes')));
    expect(listed.DatasetExists).toBe(false);
    expect(listed.MergedDatasetNames).toEqual([`notes.${guestId}`]);
  });

  it('disables the guest identity: its old credentials are refused, DescribeIdentity still shows it', async () => {
    await expectRefused(guestSync.send(new ListRecordsCommand(dataset(guestId, 'settings'))), 'UnrecognizedClientException', 403);
    await expectRefused(guestSync.send(new ListDatasetsCommand({ IdentityPoolId: poolId, IdentityId: guestId })), 'UnrecognizedClientException', 403);
    const { identity } = clients(t);
    const described = await identity.send(new DescribeIdentityCommand({ IdentityId: guestId }));
    expect(described.IdentityId).toBe(guestId);
    expect(described.Logins ?? []).toEqual([]);
    expect((await identity.send(new DescribeIdentityCommand({ IdentityId: accountId }))).Logins).toEqual([PROVIDER]);
    const all = await identity.send(new ListIdentitiesCommand({ IdentityPoolId: poolId, MaxResults: 60 }));
    expect(all.Identities?.map((i) => i.IdentityId)).toContain(guestId);
    const enabled = await identity.send(new ListIdentitiesCommand({ IdentityPoolId: poolId, MaxResults: 60, HideDisabled: true }));
    expect(enabled.Identities?.map((i) => i.IdentityId)).not.toContain(guestId);
    // Guest credentials for the disabled ID are not issued again; with the login, the answer is still A.
    await expectRefused(identityCredentials(t, guestId)(), 'NotAuthorizedException', 400);
    expect((await identity.send(new GetCredentialsForIdentityCommand({ IdentityId: guestId, Logins: { [PROVIDER]: await login(user) } }))).IdentityId)
      .toBe(accountId);
    // Developer credentials no longer see data under the guest ID either.
    await expectRefused(clients(t).sync.send(new ListDatasetsCommand({ IdentityPoolId: poolId, IdentityId: guestId })), 'NotAuthorizedException', 403);
  });
});

describe('an account into which many guests were merged', () => {
  it('keeps page tokens short when there are too many merged datasets to carry: later pages read them afresh', async () => {
    const user = newUser();
    const account = poolCredentials(t, poolId, { [PROVIDER]: await login(user) });
    const accountId = (await account()).identityId;
    const sync = syncClient(t, account);
    const ref = dataset(accountId, 'big');
    await writeRecords(sync, ref, { a: '1', b: '2' });
    // 45 names of 50 characters: past what a token carries (2,048 characters of names). Merges of guests add no
    // login, so no quota bounds them.
    for (let i = 0; i < 45; i++) {
      const guest = poolCredentials(t, poolId);
      const guestId = (await guest()).identityId;
      await writeRecords(syncClient(t, guest), dataset(guestId, 'big'), { n: String(i) });
      await clients(t).identity.send(new GetCredentialsForIdentityCommand({ IdentityId: guestId, Logins: { [PROVIDER]: await login(user) } }));
    }
    const first = await sync.send(new ListRecordsCommand({ ...ref, MaxResults: 1 }));
    const names = first.MergedDatasetNames ?? [];
    expect(names).toHaveLength(45);
    expect(first.NextToken!.length).toBeLessThan(2048);
    await sync.send(new DeleteDatasetCommand(dataset(accountId, names[0]!)));
    const second = await sync.send(new ListRecordsCommand({ ...ref, MaxResults: 1, NextToken: first.NextToken }));
    expect(second.MergedDatasetNames).toEqual(names.slice(1));
  });
});

describe('a guest who signs in with a login nobody owns yet', () => {
  it('becomes authenticated in place: same identity, data untouched, nothing merged', async () => {
    const guest = poolCredentials(t, poolId);
    const guestId = (await guest()).identityId;
    await writeRecords(syncClient(t, guest), dataset(guestId, 'settings'), { theme: 'green' });
    const user = newUser();

    const signedIn = identityCredentials(t, guestId, { [PROVIDER]: await login(user) });
    await signedIn();
    const answer = await clients(t).identity.send(new GetCredentialsForIdentityCommand({ IdentityId: guestId, Logins: { [PROVIDER]: await login(user) } }));
    expect(answer.IdentityId).toBe(guestId);
    const sync = syncClient(t, signedIn);
    const settings = await readRecords(sync, dataset(guestId, 'settings'));
    expect(settings.values).toEqual({ theme: 'green' });
    expect(settings.listed.DatasetSyncCount).toBe(1);
    expect(settings.listed.MergedDatasetNames ?? []).toEqual([]);
    const names = (await sync.send(new ListDatasetsCommand({ IdentityPoolId: poolId, IdentityId: guestId }))).Datasets?.map((d) => d.DatasetName);
    expect(names).toEqual(['settings']);
    expect((await clients(t).identity.send(new DescribeIdentityCommand({ IdentityId: guestId }))).Logins).toEqual([PROVIDER]);

    // From now on the identity is authenticated: the login from another device finds it, and no logins is refused.
    expect((await poolCredentials(t, poolId, { [PROVIDER]: await login(user) })()).identityId).toBe(guestId);
    await expectRefused(identityCredentials(t, guestId)(), 'NotAuthorizedException', 400, /^Logins don't match/);
  });
});

describe('logins owned by two different identities', () => {
  it('merges them into the older identity, whose ID is answered', async () => {
    const older = newUser();
    const newer = newUser();
    const a = await poolCredentials(t, poolId, { [PROVIDER]: await login(older) })();
    await writeRecords(syncClient(t, poolCredentials(t, poolId, { [PROVIDER]: await login(older) })), dataset(a.identityId, 'prefs'), { k: 'a' });
    const b = await poolCredentials(t, poolId, { [SECOND]: await login(newer) })();
    await writeRecords(syncClient(t, poolCredentials(t, poolId, { [SECOND]: await login(newer) })), dataset(b.identityId, 'prefs'), { k: 'b' });

    const both = { [PROVIDER]: await login(older), [SECOND]: await login(newer) };
    const merged = poolCredentials(t, poolId, both);
    expect((await merged()).identityId).toBe(a.identityId);
    const sync = syncClient(t, merged);
    expect((await readRecords(sync, dataset(a.identityId, 'prefs'))).values).toEqual({ k: 'a' });
    expect((await readRecords(sync, dataset(a.identityId, `prefs.${b.identityId}`))).values).toEqual({ k: 'b' });
    // Either login alone now reaches the survivor, which owns both.
    expect((await poolCredentials(t, poolId, { [SECOND]: await login(newer) })()).identityId).toBe(a.identityId);
    const described = await clients(t).identity.send(new DescribeIdentityCommand({ IdentityId: a.identityId }));
    expect([...(described.Logins ?? [])].sort()).toEqual([PROVIDER, SECOND]);
  });

  it('refuses to merge identities holding different users of one provider, and moves nothing', async () => {
    const aUser = newUser();
    const a = await poolCredentials(t, poolId, { [PROVIDER]: await login(aUser) })();
    const bSecond = newUser();
    const b = await poolCredentials(t, poolId, { [SECOND]: await login(bSecond) })();
    // B also gets a PROVIDER user of its own (linked as it presents its SECOND login).
    const bProvider = newUser();
    const linked = await poolCredentials(t, poolId, { [SECOND]: await login(bSecond), [PROVIDER]: await login(bProvider) })();
    expect(linked.identityId).toBe(b.identityId);

    // A's PROVIDER login with B's SECOND login: merging would give one identity two PROVIDER users.
    await expectRefused(poolCredentials(t, poolId, { [PROVIDER]: await login(aUser), [SECOND]: await login(bSecond) })(),
      'ResourceConflictException', 400, /different users of provider login\.test/);
    expect((await poolCredentials(t, poolId, { [SECOND]: await login(bSecond) })()).identityId).toBe(b.identityId);
    expect((await poolCredentials(t, poolId, { [PROVIDER]: await login(aUser) })()).identityId).toBe(a.identityId);
  });
});

describe('MergeDeveloperIdentities', () => {
  async function developerUser(userId: string) {
    const { IdentityId = '', Token = '' } = await clients(t).identity.send(new GetOpenIdTokenForDeveloperIdentityCommand({
      IdentityPoolId: devPoolId, Logins: { [DEVELOPER]: userId },
    }));
    const credentials = identityCredentials(t, IdentityId, { 'cognito-identity.amazonaws.com': Token });
    return { identityId: IdentityId, credentials, sync: syncClient(t, credentials) };
  }

  it('merges the source user\'s identity into the destination\'s, moving its data as <name>.<sourceId>', async () => {
    const dest = await developerUser('alice');
    const source = await developerUser('alice-old-account');
    expect(source.identityId).not.toBe(dest.identityId);
    await writeRecords(dest.sync, dataset(dest.identityId, 'game', devPoolId), { level: '12' });
    await writeRecords(source.sync, dataset(source.identityId, 'game', devPoolId), { level: '3' });
    const sourceSync = syncClient(t, await staticCredentials(source.credentials));

    const out = await clients(t).identity.send(new MergeDeveloperIdentitiesCommand({
      IdentityPoolId: devPoolId, DeveloperProviderName: DEVELOPER, SourceUserIdentifier: 'alice-old-account', DestinationUserIdentifier: 'alice',
    }));
    expect(out.IdentityId).toBe(dest.identityId);

    const game = await readRecords(dest.sync, dataset(dest.identityId, 'game', devPoolId));
    expect(game.values).toEqual({ level: '12' });
    expect(game.listed.MergedDatasetNames).toEqual([`game.${source.identityId}`]);
    const moved = await readRecords(dest.sync, dataset(dest.identityId, `game.${source.identityId}`, devPoolId));
    expect(moved.values).toEqual({ level: '3' });
    expect(moved.listed.DatasetSyncCount).toBe(1);

    // Both developer users now resolve to the destination identity.
    const { identity } = clients(t);
    const looked = await identity.send(new LookupDeveloperIdentityCommand({ IdentityPoolId: devPoolId, IdentityId: dest.identityId }));
    expect([...(looked.DeveloperUserIdentifierList ?? [])].sort()).toEqual(['alice', 'alice-old-account']);
    expect((await identity.send(new LookupDeveloperIdentityCommand({ IdentityPoolId: devPoolId, DeveloperUserIdentifier: 'alice-old-account' }))).IdentityId)
      .toBe(dest.identityId);
    expect((await developerUser('alice-old-account')).identityId).toBe(dest.identityId);
    // The source identity is disabled: its credentials stop working.
    await expectRefused(sourceSync.send(new ListRecordsCommand(dataset(source.identityId, 'game', devPoolId))), 'UnrecognizedClientException', 403);

    // Merging users that already share the identity changes nothing.
    const again = await identity.send(new MergeDeveloperIdentitiesCommand({
      IdentityPoolId: devPoolId, DeveloperProviderName: DEVELOPER, SourceUserIdentifier: 'alice-old-account', DestinationUserIdentifier: 'alice',
    }));
    expect(again.IdentityId).toBe(dest.identityId);
  });

  it('never replaces a dataset the destination holds: a taken name, or two long names shortened alike, get -2', async () => {
    const destUser = newUser();
    const dest = await developerUser(destUser);
    const sourceUser = newUser();
    const source = await developerUser(sourceUser);
    const old = source.identityId;
    // The destination already holds `profile.<sourceId>` (a Sync Manager's own re-parenting makes such copies).
    await writeRecords(dest.sync, dataset(dest.identityId, `profile.${old}`, devPoolId), { mine: '1' });
    await writeRecords(dest.sync, dataset(dest.identityId, `profile.${old}`, devPoolId), { mine: '2' });
    // Two names that share the first 81 characters, all the room `.<sourceId>` leaves.
    const shared = `com.example.game.${'p'.repeat(128 - old.length - 1 - 17)}`;
    await writeRecords(source.sync, dataset(old, 'profile', devPoolId), { theirs: 'x' });
    await writeRecords(source.sync, dataset(old, `${shared}.savegame`, devPoolId), { level: '42' });
    await writeRecords(source.sync, dataset(old, `${shared}.settings`, devPoolId), { music: 'off' });

    await clients(t).identity.send(new MergeDeveloperIdentitiesCommand({
      IdentityPoolId: devPoolId, DeveloperProviderName: DEVELOPER, SourceUserIdentifier: sourceUser, DestinationUserIdentifier: destUser,
    }));

    const own = await readRecords(dest.sync, dataset(dest.identityId, `profile.${old}`, devPoolId));
    expect(own.values).toEqual({ mine: '2' });
    expect(own.listed.DatasetSyncCount).toBe(2);
    const profile = await readRecords(dest.sync, dataset(dest.identityId, 'profile', devPoolId));
    expect(profile.listed.MergedDatasetNames).toEqual([`profile-2.${old}`]);
    expect((await readRecords(dest.sync, dataset(dest.identityId, `profile-2.${old}`, devPoolId))).values).toEqual({ theirs: 'x' });
    const cut = shared.slice(0, 128 - old.length - 1);
    expect((await readRecords(dest.sync, dataset(dest.identityId, `${cut}.${old}`, devPoolId))).values).toEqual({ level: '42' });
    const second = `${shared.slice(0, 128 - old.length - 3)}-2.${old}`;
    expect((await readRecords(dest.sync, dataset(dest.identityId, second, devPoolId))).values).toEqual({ music: 'off' });
  });

  it('reports the first page\'s MergedDatasetNames on every page of a listing, whatever merges or deletions happen between pages', async () => {
    const dest = await developerUser('paging-dest');
    const source = await developerUser('paging-source');
    const ref = dataset(dest.identityId, 'game', devPoolId);
    await writeRecords(dest.sync, ref, { a: '1', b: '2' });
    await writeRecords(source.sync, dataset(source.identityId, 'game', devPoolId), { level: '3' });
    const merge = () => clients(t).identity.send(new MergeDeveloperIdentitiesCommand({
      IdentityPoolId: devPoolId, DeveloperProviderName: DEVELOPER, SourceUserIdentifier: 'paging-source', DestinationUserIdentifier: 'paging-dest',
    }));
    const firstPage = () => dest.sync.send(new ListRecordsCommand({ ...ref, MaxResults: 1 }));
    const nextPage = (NextToken: string | undefined) => dest.sync.send(new ListRecordsCommand({ ...ref, MaxResults: 1, NextToken }));

    // A merge between the pages: the listing began without it, and says so to the end (Android keeps the last page's).
    const before = await firstPage();
    expect(before.MergedDatasetNames).toBeUndefined();
    await merge();
    expect((await nextPage(before.NextToken)).MergedDatasetNames).toBeUndefined();

    // The merged dataset deleted between the pages: still reported by the listing that began with it.
    const withMerge = await firstPage();
    const merged = [`game.${source.identityId}`];
    expect(withMerge.MergedDatasetNames).toEqual(merged);
    await clients(t).sync.send(new DeleteDatasetCommand(dataset(dest.identityId, merged[0]!, devPoolId)));
    expect((await nextPage(withMerge.NextToken)).MergedDatasetNames).toEqual(merged);
    expect((await firstPage()).MergedDatasetNames).toBeUndefined();
  });

  it('reports the first page\'s LastModifiedBy on every page, whoever writes between pages', async () => {
    const user = await developerUser('paging-author');
    const ref = dataset(user.identityId, 'notes', devPoolId);
    await writeRecords(user.sync, ref, { a: '1', b: '2' });
    const first = await user.sync.send(new ListRecordsCommand({ ...ref, MaxResults: 1 }));
    expect(first.LastModifiedBy).toBe(user.identityId);
    // Developer credentials write as the account.
    await writeRecords(clients(t).sync, ref, { c: '3' });
    const second = await user.sync.send(new ListRecordsCommand({ ...ref, MaxResults: 1, NextToken: first.NextToken }));
    expect(second.LastModifiedBy).toBe(user.identityId);
    expect((await user.sync.send(new ListRecordsCommand(ref))).LastModifiedBy).not.toBe(user.identityId);
  });

  it('refuses to merge identities holding different users of one public provider (the model\'s words)', async () => {
    const { identity } = clients(t);
    const mixedPoolId = (await identity.send(new CreateIdentityPoolCommand({
      IdentityPoolName: 'merge_mixed_pool', AllowUnauthenticatedIdentities: false, DeveloperProviderName: DEVELOPER,
      OpenIdConnectProviderARNs: [oidcProviderArn(PROVIDER)],
    }))).IdentityPoolId ?? '';
    const withProviderUser = async (developerUserId: string) => {
      const { IdentityId = '', Token = '' } = await identity.send(new GetOpenIdTokenForDeveloperIdentityCommand({
        IdentityPoolId: mixedPoolId, Logins: { [DEVELOPER]: developerUserId },
      }));
      // The identity presents its developer token with a PROVIDER login nobody owns yet: the login is linked to it.
      await identity.send(new GetCredentialsForIdentityCommand({
        IdentityId, Logins: { 'cognito-identity.amazonaws.com': Token, [PROVIDER]: await login(newUser()) },
      }));
      return IdentityId;
    };
    const dest = await withProviderUser('carol');
    const source = await withProviderUser('carol-old');
    expect((await identity.send(new DescribeIdentityCommand({ IdentityId: source }))).Logins?.sort()).toEqual([DEVELOPER, PROVIDER]);
    await expectRefused(identity.send(new MergeDeveloperIdentitiesCommand({
      IdentityPoolId: mixedPoolId, DeveloperProviderName: DEVELOPER, SourceUserIdentifier: 'carol-old', DestinationUserIdentifier: 'carol',
    })), 'ResourceConflictException', 400, /different users of provider login\.test/);
    const looked = await identity.send(new LookupDeveloperIdentityCommand({ IdentityPoolId: mixedPoolId, DeveloperUserIdentifier: 'carol-old' }));
    expect(looked.IdentityId).toBe(source);
    expect(source).not.toBe(dest);
  });

  it('refuses an unknown user, a provider name the pool does not have, and identity credentials', async () => {
    const dest = await developerUser('bob');
    const { identity } = clients(t);
    await expectRefused(identity.send(new MergeDeveloperIdentitiesCommand({
      IdentityPoolId: devPoolId, DeveloperProviderName: DEVELOPER, SourceUserIdentifier: 'nobody', DestinationUserIdentifier: 'bob',
    })), 'ResourceNotFoundException', 400);
    await expectRefused(identity.send(new MergeDeveloperIdentitiesCommand({
      IdentityPoolId: devPoolId, DeveloperProviderName: 'login.other', SourceUserIdentifier: 'bob', DestinationUserIdentifier: 'bob',
    })), 'InvalidParameterException', 400);
    const asIdentity = clients(t, await staticCredentials(dest.credentials)).identity;
    await expectRefused(asIdentity.send(new MergeDeveloperIdentitiesCommand({
      IdentityPoolId: devPoolId, DeveloperProviderName: DEVELOPER, SourceUserIdentifier: 'alice', DestinationUserIdentifier: 'bob',
    })), 'NotAuthorizedException', 400);
  });
});
