/**
 * What identity credentials may do (SPEC §3): touch only their own identity in their own pool, never call
 * developer-only operations; forged or expired credentials are refused. The credentials are derived from the
 * server keys, not stored, so every server sharing the keys (and the database) accepts them, across restarts and
 * key rotations; the log never carries them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import {
  CreateIdentityPoolCommand, DeleteIdentitiesCommand, DeleteIdentityPoolCommand, DescribeIdentityCommand, DescribeIdentityPoolCommand,
  GetIdentityPoolRolesCommand, GetOpenIdTokenForDeveloperIdentityCommand, ListIdentitiesCommand, ListIdentityPoolsCommand,
  LookupDeveloperIdentityCommand, MergeDeveloperIdentitiesCommand, SetIdentityPoolRolesCommand, UnlinkDeveloperIdentityCommand,
  UpdateIdentityPoolCommand, type CognitoIdentityClient,
} from '@aws-sdk/client-cognito-identity';
import {
  BulkPublishCommand, DeleteDatasetCommand, DescribeDatasetCommand, DescribeIdentityPoolUsageCommand, DescribeIdentityUsageCommand,
  GetBulkPublishDetailsCommand, GetCognitoEventsCommand, GetIdentityPoolConfigurationCommand, ListDatasetsCommand,
  ListIdentityPoolUsageCommand, ListRecordsCommand, RegisterDeviceCommand, SetCognitoEventsCommand,
  SetIdentityPoolConfigurationCommand, SubscribeToDatasetCommand, UnsubscribeFromDatasetCommand, UpdateRecordsCommand,
  type CognitoSyncClient,
} from '@aws-sdk/client-cognito-sync';
import { serverKeys } from '../../src/auth/server-keys.js';
import { clients, manualClock, startServer, TEST_CREDENTIALS, TEST_SERVER_KEYS, type TestServer } from '../helpers/server.js';
import {
  expectRefused, identityCredentials, poolCredentials, readRecords, staticCredentials, syncClient, writeRecords, type StaticCredentials,
} from './support.js';

const DEVELOPER = 'login.myapp';

let t: TestServer;
let poolId: string;
let otherPoolId: string;
/** Identity A (the caller), B in the same pool, C in the other pool. */
let a: { identityId: string; creds: StaticCredentials };
let b: { identityId: string; creds: StaticCredentials };
let c: { identityId: string; creds: StaticCredentials };

async function guestIn(s: TestServer, pool: string) {
  const provider = poolCredentials(s, pool);
  const identityId = (await provider()).identityId;
  return { identityId, creds: await staticCredentials(provider) };
}

async function createPool(s: TestServer, name: string): Promise<string> {
  const out = await clients(s).identity.send(new CreateIdentityPoolCommand({
    IdentityPoolName: name, AllowUnauthenticatedIdentities: true, DeveloperProviderName: DEVELOPER,
  }));
  return out.IdentityPoolId ?? '';
}

beforeAll(async () => {
  t = await startServer();
  poolId = await createPool(t, 'authz_pool');
  otherPoolId = await createPool(t, 'authz_other_pool');
  a = await guestIn(t, poolId);
  b = await guestIn(t, poolId);
  c = await guestIn(t, otherPoolId);
  await writeRecords(syncClient(t, b.creds), { IdentityPoolId: poolId, IdentityId: b.identityId, DatasetName: 'private' }, { secret: 'b' });
  await writeRecords(syncClient(t, c.creds), { IdentityPoolId: otherPoolId, IdentityId: c.identityId, DatasetName: 'private' }, { secret: 'c' });
});
afterAll(() => t.close());

/** Every data-plane operation naming (pool, identity), as the identity-credential caller would send it. */
function dataPlane(IdentityPoolId: string, IdentityId: string) {
  const ds = { IdentityPoolId, IdentityId, DatasetName: 'private' };
  return {
    ListRecords: (s: CognitoSyncClient) => s.send(new ListRecordsCommand(ds)),
    UpdateRecords: (s: CognitoSyncClient) => s.send(new UpdateRecordsCommand({
      ...ds, SyncSessionToken: 'not-a-real-token', RecordPatches: [{ Op: 'replace', Key: 'secret', Value: 'stolen', SyncCount: 1 }],
    })),
    ListDatasets: (s: CognitoSyncClient) => s.send(new ListDatasetsCommand({ IdentityPoolId, IdentityId })),
    DescribeDataset: (s: CognitoSyncClient) => s.send(new DescribeDatasetCommand(ds)),
    DeleteDataset: (s: CognitoSyncClient) => s.send(new DeleteDatasetCommand(ds)),
    DescribeIdentityUsage: (s: CognitoSyncClient) => s.send(new DescribeIdentityUsageCommand({ IdentityPoolId, IdentityId })),
    RegisterDevice: (s: CognitoSyncClient) => s.send(new RegisterDeviceCommand({ IdentityPoolId, IdentityId, Platform: 'GCM', Token: 'push-token' })),
    SubscribeToDataset: (s: CognitoSyncClient) => s.send(new SubscribeToDatasetCommand({ ...ds, DeviceId: 'device-1' })),
    UnsubscribeFromDataset: (s: CognitoSyncClient) => s.send(new UnsubscribeFromDatasetCommand({ ...ds, DeviceId: 'device-1' })),
  };
}

describe('identity credentials reach only their own identity in their own pool', () => {
  it('are refused with 403 NotAuthorizedException on every data-plane operation naming another identity', async () => {
    const sync = syncClient(t, a.creds);
    for (const [name, call] of Object.entries(dataPlane(poolId, b.identityId))) {
      const err = await expectRefused(call(sync), 'NotAuthorizedException', 403);
      expect(err.message, name).toContain(b.identityId);
    }
  });

  it('are refused on every data-plane operation naming another pool (its identity, or their own ID)', async () => {
    const sync = syncClient(t, a.creds);
    for (const identityId of [c.identityId, a.identityId]) {
      for (const [name, call] of Object.entries(dataPlane(otherPoolId, identityId))) {
        const err = await expectRefused(call(sync), 'NotAuthorizedException', 403);
        expect(err.message, name).toContain(otherPoolId);
      }
    }
  });

  it('left the other identities\' data untouched', async () => {
    const dev = clients(t).sync;
    expect((await readRecords(dev, { IdentityPoolId: poolId, IdentityId: b.identityId, DatasetName: 'private' })).values).toEqual({ secret: 'b' });
    expect((await readRecords(dev, { IdentityPoolId: otherPoolId, IdentityId: c.identityId, DatasetName: 'private' })).values).toEqual({ secret: 'c' });
  });

  it('work on every data-plane operation for their own identity', async () => {
    const sync = syncClient(t, a.creds);
    await writeRecords(sync, { IdentityPoolId: poolId, IdentityId: a.identityId, DatasetName: 'private' }, { mine: 'yes' });
    await clients(t).sync.send(new SetIdentityPoolConfigurationCommand({
      IdentityPoolId: poolId,
      PushSync: { ApplicationArns: ['arn:aws:sns:us-east-1:123456789012:app/GCM/authz'], RoleArn: 'arn:aws:iam::123456789012:role/push' },
    }));
    const { ListRecords, ListDatasets, DescribeDataset, DescribeIdentityUsage, RegisterDevice, DeleteDataset } = dataPlane(poolId, a.identityId);
    for (const call of [ListRecords, ListDatasets, DescribeDataset, DescribeIdentityUsage]) await call(sync);
    const { DeviceId = '' } = await RegisterDevice(sync);
    const subscription = { IdentityPoolId: poolId, IdentityId: a.identityId, DatasetName: 'private', DeviceId };
    await sync.send(new SubscribeToDatasetCommand(subscription));
    await sync.send(new UnsubscribeFromDatasetCommand(subscription));
    await DeleteDataset(sync);
  });
});

describe('identity credentials are refused on developer-only operations', () => {
  it('of Cognito Sync (403 NotAuthorizedException), even for their own pool', async () => {
    const sync = syncClient(t, a.creds);
    const IdentityPoolId = poolId;
    const calls: Record<string, () => Promise<unknown>> = {
      BulkPublish: () => sync.send(new BulkPublishCommand({ IdentityPoolId })),
      GetBulkPublishDetails: () => sync.send(new GetBulkPublishDetailsCommand({ IdentityPoolId })),
      DescribeIdentityPoolUsage: () => sync.send(new DescribeIdentityPoolUsageCommand({ IdentityPoolId })),
      ListIdentityPoolUsage: () => sync.send(new ListIdentityPoolUsageCommand({})),
      GetCognitoEvents: () => sync.send(new GetCognitoEventsCommand({ IdentityPoolId })),
      SetCognitoEvents: () => sync.send(new SetCognitoEventsCommand({ IdentityPoolId, Events: { SyncTrigger: 'arn:aws:lambda:us-east-1:123456789012:function:f' } })),
      GetIdentityPoolConfiguration: () => sync.send(new GetIdentityPoolConfigurationCommand({ IdentityPoolId })),
      SetIdentityPoolConfiguration: () => sync.send(new SetIdentityPoolConfigurationCommand({ IdentityPoolId, CognitoStreams: { StreamingStatus: 'ENABLED', StreamName: 's' } })),
    };
    for (const [name, call] of Object.entries(calls)) {
      const err = await expectRefused(call(), 'NotAuthorizedException', 403);
      expect(err.message, name).toBe('These credentials are not valid for accessing this resource');
    }
    expect((await clients(t).sync.send(new GetCognitoEventsCommand({ IdentityPoolId }))).Events ?? {}).toEqual({});
  });

  it('of Cognito Identity (400 NotAuthorizedException), even for their own pool and identity', async () => {
    const identity: CognitoIdentityClient = clients(t, a.creds).identity;
    const IdentityPoolId = poolId;
    const calls: Record<string, () => Promise<unknown>> = {
      CreateIdentityPool: () => identity.send(new CreateIdentityPoolCommand({ IdentityPoolName: 'evil', AllowUnauthenticatedIdentities: true })),
      DescribeIdentityPool: () => identity.send(new DescribeIdentityPoolCommand({ IdentityPoolId })),
      ListIdentityPools: () => identity.send(new ListIdentityPoolsCommand({ MaxResults: 10 })),
      UpdateIdentityPool: () => identity.send(new UpdateIdentityPoolCommand({ IdentityPoolId, IdentityPoolName: 'evil', AllowUnauthenticatedIdentities: false })),
      DeleteIdentityPool: () => identity.send(new DeleteIdentityPoolCommand({ IdentityPoolId })),
      ListIdentities: () => identity.send(new ListIdentitiesCommand({ IdentityPoolId, MaxResults: 10 })),
      DescribeIdentity: () => identity.send(new DescribeIdentityCommand({ IdentityId: a.identityId })),
      DeleteIdentities: () => identity.send(new DeleteIdentitiesCommand({ IdentityIdsToDelete: [b.identityId] })),
      GetOpenIdTokenForDeveloperIdentity: () => identity.send(new GetOpenIdTokenForDeveloperIdentityCommand({ IdentityPoolId, Logins: { [DEVELOPER]: 'u' } })),
      LookupDeveloperIdentity: () => identity.send(new LookupDeveloperIdentityCommand({ IdentityPoolId, IdentityId: a.identityId })),
      MergeDeveloperIdentities: () => identity.send(new MergeDeveloperIdentitiesCommand({
        IdentityPoolId, DeveloperProviderName: DEVELOPER, SourceUserIdentifier: 'x', DestinationUserIdentifier: 'y',
      })),
      UnlinkDeveloperIdentity: () => identity.send(new UnlinkDeveloperIdentityCommand({
        IdentityPoolId, IdentityId: a.identityId, DeveloperProviderName: DEVELOPER, DeveloperUserIdentifier: 'x',
      })),
      SetIdentityPoolRoles: () => identity.send(new SetIdentityPoolRolesCommand({ IdentityPoolId, Roles: { authenticated: 'arn:aws:iam::1:role/x' } })),
      GetIdentityPoolRoles: () => identity.send(new GetIdentityPoolRolesCommand({ IdentityPoolId })),
    };
    for (const [name, call] of Object.entries(calls)) {
      const err = await expectRefused(call(), 'NotAuthorizedException', 400);
      expect(err.message, name).toBe('These credentials are not valid for accessing this resource');
    }
    // Nothing changed.
    const dev = clients(t).identity;
    expect((await dev.send(new DescribeIdentityPoolCommand({ IdentityPoolId }))).IdentityPoolName).toBe('authz_pool');
    expect((await dev.send(new ListIdentityPoolsCommand({ MaxResults: 60 }))).IdentityPools).toHaveLength(2);
    expect((await dev.send(new DescribeIdentityCommand({ IdentityId: b.identityId }))).IdentityId).toBe(b.identityId);
    expect((await dev.send(new GetIdentityPoolRolesCommand({ IdentityPoolId }))).Roles ?? {}).toEqual({});
  });
});

describe('forged and expired credentials', () => {
  const listOwn = (creds: StaticCredentials, identityId = a.identityId) =>
    syncClient(t, creds).send(new ListDatasetsCommand({ IdentityPoolId: poolId, IdentityId: identityId }));

  it('refuse a session token altered in any one character (403)', async () => {
    await listOwn(a.creds);
    const token = a.creds.sessionToken;
    for (let i = 0; i < token.length; i++) {
      const ch = token[i] === 'A' ? 'B' : 'A';
      const altered = `${token.slice(0, i)}${ch}${token.slice(i + 1)}`;
      const err = await expectRefused(listOwn({ ...a.creds, sessionToken: altered }), 'UnrecognizedClientException', 403);
      expect(err.message, `position ${i}`).toBe('The security token included in the request is invalid.');
    }
    // The last character also carries bits a lenient base64 decoder drops: flipping them is an alteration too.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const lastValue = alphabet.indexOf(token.at(-1) ?? '');
    for (const bit of [1, 2]) {
      const altered = `${token.slice(0, -1)}${alphabet[lastValue ^ bit] ?? ''}`;
      await expectRefused(listOwn({ ...a.creds, sessionToken: altered }), 'UnrecognizedClientException', 403);
    }
    await expectRefused(listOwn({ ...a.creds, sessionToken: `${token}A` }), 'UnrecognizedClientException', 403);
    await expectRefused(listOwn({ ...a.creds, sessionToken: token.slice(0, -1) }), 'UnrecognizedClientException', 403);
  });

  it('refuse a wrong secret (InvalidSignatureException), a missing token, and keys and tokens swapped between identities', async () => {
    await expectRefused(listOwn({ ...a.creds, secretAccessKey: b.creds.secretAccessKey }), 'InvalidSignatureException', 403);
    const flipped = a.creds.secretAccessKey.startsWith('A') ? `B${a.creds.secretAccessKey.slice(1)}` : `A${a.creds.secretAccessKey.slice(1)}`;
    await expectRefused(listOwn({ ...a.creds, secretAccessKey: flipped }), 'InvalidSignatureException', 403);
    const { sessionToken: _none, ...withoutToken } = a.creds;
    await expectRefused(syncClient(t, async () => withoutToken).send(new ListDatasetsCommand({ IdentityPoolId: poolId, IdentityId: a.identityId })),
      'UnrecognizedClientException', 403);
    // A's access key with B's token (and B's secret, or A's): the token was issued to another access key.
    await expectRefused(listOwn({ ...b.creds, accessKeyId: a.creds.accessKeyId }, b.identityId), 'UnrecognizedClientException', 403);
    await expectRefused(listOwn({ ...a.creds, sessionToken: b.creds.sessionToken }, b.identityId), 'UnrecognizedClientException', 403);
    await expectRefused(listOwn({ ...a.creds, sessionToken: b.creds.sessionToken }), 'UnrecognizedClientException', 403);
    // A token of another pool's identity with its own key reaches only that identity.
    await expectRefused(listOwn(c.creds), 'NotAuthorizedException', 403);
  });

  it('refuse expired credentials with 403 ExpiredTokenException (server clock past credentialsTtlSeconds)', async () => {
    const clock = manualClock(Date.now());
    const s = await startServer({ clock, config: { credentialsTtlSeconds: 600 } });
    try {
      const pool = await createPool(s, 'expiry_pool');
      const provider = poolCredentials(s, pool);
      const { identityId, expiration } = await provider();
      expect(expiration?.getTime()).toBe(clock.now() + 600_000);
      const issued = await staticCredentials(provider);
      const sync = syncClient(s, provider);
      const ref = { IdentityPoolId: pool, IdentityId: identityId, DatasetName: 'd' };
      await writeRecords(sync, ref, { k: 'v' });
      clock.advance(599_000);
      await sync.send(new ListRecordsCommand(ref));
      clock.advance(2_000);
      await expectRefused(sync.send(new ListRecordsCommand(ref)), 'ExpiredTokenException', 403, 'The security token included in the request is expired');
      await expectRefused(clients(s, issued).identity.send(new ListIdentitiesCommand({ IdentityPoolId: pool, MaxResults: 1 })),
        'ExpiredTokenException', 400);
      // New credentials for the same identity work again.
      const renewed = syncClient(s, identityCredentials(s, identityId));
      expect((await readRecords(renewed, ref)).values).toEqual({ k: 'v' });
    } finally {
      await s.close();
    }
  });
});

describe('LastModifiedBy', () => {
  it('is the identity ID for identity writes and the account ID for developer writes', async () => {
    const ref = { IdentityPoolId: poolId, IdentityId: a.identityId, DatasetName: 'authorship' };
    const asIdentity = syncClient(t, a.creds);
    const dev = clients(t).sync;
    await writeRecords(asIdentity, ref, { byApp: '1' });
    let seen = await readRecords(dev, ref);
    expect(seen.listed.LastModifiedBy).toBe(a.identityId);
    expect((await dev.send(new DescribeDatasetCommand(ref))).Dataset?.LastModifiedBy).toBe(a.identityId);

    await writeRecords(dev, ref, { byBackend: '2' });
    seen = await readRecords(asIdentity, ref);
    const by = Object.fromEntries(seen.records.map((r) => [r.Key, r.LastModifiedBy]));
    expect(by).toEqual({ byApp: a.identityId, byBackend: TEST_CREDENTIALS.accountId });
    expect(seen.listed.LastModifiedBy).toBe(TEST_CREDENTIALS.accountId);
    expect((await asIdentity.send(new ListDatasetsCommand({ IdentityPoolId: poolId, IdentityId: a.identityId })))
      .Datasets?.find((d) => d.DatasetName === 'authorship')?.LastModifiedBy).toBe(TEST_CREDENTIALS.accountId);
  });
});

describe('credentials across servers sharing keys and a database', () => {
  let dir: string;
  let file: string;
  const open: TestServer[] = [];
  const start = async (keys = TEST_SERVER_KEYS) => {
    // Several instances on one file share it, as --workers does.
    const s = await startServer({ config: { storage: { file, locking: 'shared' } }, serverKeys: keys });
    open.push(s);
    return s;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cosync-identity-'));
    file = join(dir, 'shared.sqlite');
  });
  afterAll(async () => {
    for (const s of open) await s.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('two servers on one SQLite file accept each other\'s credentials; a restarted one keeps accepting them', async () => {
    const s1 = await start();
    const s2 = await start();
    const pool = await createPool(s1, 'shared_pool');
    const fromS1 = await guestIn(s1, pool);
    const fromS2 = await guestIn(s2, pool);
    const ref1 = { IdentityPoolId: pool, IdentityId: fromS1.identityId, DatasetName: 'shared' };
    const ref2 = { IdentityPoolId: pool, IdentityId: fromS2.identityId, DatasetName: 'shared' };
    await writeRecords(syncClient(s2, fromS1.creds), ref1, { wrote: 'via s2' });
    await writeRecords(syncClient(s1, fromS2.creds), ref2, { wrote: 'via s1' });
    expect((await readRecords(syncClient(s1, fromS1.creds), ref1)).values).toEqual({ wrote: 'via s2' });
    expect((await readRecords(syncClient(s2, fromS2.creds), ref2)).values).toEqual({ wrote: 'via s1' });
    // The sync session of one server is honoured by the other (ListRecords on s1, UpdateRecords on s2).
    const listed = await syncClient(s1, fromS1.creds).send(new ListRecordsCommand(ref1));
    await syncClient(s2, fromS1.creds).send(new UpdateRecordsCommand({
      ...ref1, SyncSessionToken: listed.SyncSessionToken, RecordPatches: [{ Op: 'replace', Key: 'wrote', Value: 'again', SyncCount: 1 }],
    }));

    await s1.close();
    const s3 = await start();
    expect((await readRecords(syncClient(s3, fromS1.creds), ref1)).values).toEqual({ wrote: 'again' });
    expect((await readRecords(syncClient(s3, fromS2.creds), ref2)).values).toEqual({ wrote: 'via s1' });
    // Deleting an identity on one server revokes its credentials on the other at once.
    await clients(s3).identity.send(new DeleteIdentitiesCommand({ IdentityIdsToDelete: [fromS2.identityId] }));
    await expectRefused(syncClient(s2, fromS2.creds).send(new ListRecordsCommand(ref2)), 'UnrecognizedClientException', 403);
  });

  it('after a key rotation ([new, old]) old credentials keep working and new ones are issued with the new key', async () => {
    const oldServer = await start();
    const pool = await createPool(oldServer, 'rotation_pool');
    const old = await guestIn(oldServer, pool);
    const oldDevToken = (await clients(oldServer).identity.send(new GetOpenIdTokenForDeveloperIdentityCommand({
      IdentityPoolId: pool, Logins: { [DEVELOPER]: 'rotating-user' },
    })));

    const newKey = { id: 'test2', secret: Buffer.alloc(32, 2) };
    const rotated = await start(serverKeys([newKey, TEST_SERVER_KEYS.active]));
    const newOnly = await start(serverKeys([newKey]));
    const ref = (identityId: string) => ({ IdentityPoolId: pool, IdentityId: identityId, DatasetName: 'r' });

    await writeRecords(syncClient(rotated, old.creds), ref(old.identityId), { k: 'old creds, rotated server' });
    const fresh = await guestIn(rotated, pool);
    const keyId = (token: string) => (JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8')) as unknown[])[1];
    expect(keyId(old.creds.sessionToken)).toBe('test1');
    expect(keyId(fresh.creds.sessionToken)).toBe('test2');
    await writeRecords(syncClient(rotated, fresh.creds), ref(fresh.identityId), { k: 'new creds' });
    await writeRecords(syncClient(newOnly, fresh.creds), ref(fresh.identityId), { k: 'new creds, new-key server' });

    // A server with only the new key refuses the old credentials; one with only the old key refuses the new ones.
    await expectRefused(syncClient(newOnly, old.creds).send(new ListRecordsCommand(ref(old.identityId))), 'UnrecognizedClientException', 403);
    await expectRefused(syncClient(oldServer, fresh.creds).send(new ListRecordsCommand(ref(fresh.identityId))), 'UnrecognizedClientException', 403);

    // OpenID tokens signed before the rotation still verify on the rotated server (its JWKS lists both keys).
    const jwks = (await (await fetch(`${rotated.endpoint}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> };
    expect(jwks.keys.map((k) => k.kid).sort()).toEqual(['test1', 'test2']);
    // The token's issuer is the server that signed it; present it where that URL is the issuer (the old server).
    const viaOld = await identityCredentials(oldServer, oldDevToken.IdentityId ?? '', { 'cognito-identity.amazonaws.com': oldDevToken.Token ?? '' })();
    expect(viaOld.accessKeyId).toMatch(/^ASIA/);
  });
});

describe('the log', () => {
  it('a write of an identity deleted while the write was under way is refused and leaves nothing behind', async () => {
    // The hook runs after the request's credentials were resolved and before the commit: the deletion lands in the
    // window where another worker or instance could make it.
    let s: TestServer | undefined = undefined;
    s = await startServer({
      hooks: [{
        name: 'deletes-the-identity', async beforeUpdateRecords(payload) {
          await clients(s!).identity.send(new DeleteIdentitiesCommand({ IdentityIdsToDelete: [payload.identityId] }));
          return undefined;
        },
      }],
    });
    try {
      const pool = await createPool(s, 'deleted_mid_write');
      const guest = await guestIn(s, pool);
      const ref = { IdentityPoolId: pool, IdentityId: guest.identityId, DatasetName: 'd' };
      await expectRefused(writeRecords(syncClient(s, guest.creds), ref, { k: 'v' }), 'ResourceNotFoundException', 404);
      const usage = await clients(s).sync.send(new DescribeIdentityPoolUsageCommand({ IdentityPoolId: pool }));
      expect(usage.IdentityPoolUsage).toMatchObject({ DataStorage: 0, SyncSessionsCount: 0 });
    } finally {
      await s.close();
    }
  });

  it('never contains a SecretKey or SessionToken, nor login tokens, whatever happened', async () => {
    const lines: string[] = [];
    const stream = new Writable({ write(chunk: Buffer, _enc, done) { lines.push(chunk.toString('utf8')); done(); } });
    const s = await startServer({
      logger: pino({ level: 'trace', base: null }, stream),
      hooks: [{ name: 'noisy', async afterDatasetChanged() { throw new Error('hook failed on purpose'); } }],
    });
    const secrets: string[] = [TEST_CREDENTIALS.secretAccessKey];
    try {
      const pool = await createPool(s, 'log_pool');
      const guest = await guestIn(s, pool);
      secrets.push(guest.creds.secretAccessKey, guest.creds.sessionToken);
      await writeRecords(syncClient(s, guest.creds), { IdentityPoolId: pool, IdentityId: guest.identityId, DatasetName: 'd' }, { k: 'v' });
      const dev = await clients(s).identity.send(new GetOpenIdTokenForDeveloperIdentityCommand({ IdentityPoolId: pool, Logins: { [DEVELOPER]: 'logged-user' } }));
      secrets.push(dev.Token ?? '');
      const authed = await staticCredentials(identityCredentials(s, dev.IdentityId ?? '', { 'cognito-identity.amazonaws.com': dev.Token ?? '' }));
      secrets.push(authed.secretAccessKey, authed.sessionToken);
      await writeRecords(syncClient(s, authed), { IdentityPoolId: pool, IdentityId: dev.IdentityId ?? '', DatasetName: 'd' }, { k: 'v' });
      // Failures too: forged, expired-looking and foreign requests.
      await expectRefused(syncClient(s, { ...authed, sessionToken: `${authed.sessionToken}x` })
        .send(new ListDatasetsCommand({ IdentityPoolId: pool, IdentityId: dev.IdentityId ?? '' })), 'UnrecognizedClientException', 403);
      await expectRefused(syncClient(s, authed).send(new ListDatasetsCommand({ IdentityPoolId: pool, IdentityId: guest.identityId })),
        'NotAuthorizedException', 403);
      await expectRefused(identityCredentials(s, dev.IdentityId ?? '', { 'cognito-identity.amazonaws.com': `${dev.Token ?? ''}x` })(),
        'NotAuthorizedException', 400);
    } finally {
      await s.close();
    }
    const log = lines.join('');
    expect(log).toContain('hook failed on purpose');
    for (const secret of secrets) {
      expect(secret.length).toBeGreaterThan(20);
      expect(log.includes(secret), 'a credential appears in the log').toBe(false);
      // Nor a recognisable piece of it.
      expect(log.includes(secret.slice(0, 24)), 'a credential prefix appears in the log').toBe(false);
    }
  });
});
