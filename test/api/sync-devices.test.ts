import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BulkPublishCommand, CognitoSyncClient, DeleteDatasetCommand, DescribeDatasetCommand, DescribeIdentityPoolUsageCommand,
  DescribeIdentityUsageCommand, GetBulkPublishDetailsCommand, GetCognitoEventsCommand, GetIdentityPoolConfigurationCommand,
  ListDatasetsCommand, ListIdentityPoolUsageCommand, ListRecordsCommand, RegisterDeviceCommand, SetCognitoEventsCommand,
  SetIdentityPoolConfigurationCommand, SubscribeToDatasetCommand, UnsubscribeFromDatasetCommand, UpdateRecordsCommand,
  type Platform,
} from '@aws-sdk/client-cognito-sync';
import { GetIdCommand } from '@aws-sdk/client-cognito-identity';
import { clients, poolWithIdentity, startServer, TEST_CREDENTIALS, type TestServer } from '../helpers/server.js';
import type { CredentialResolver } from '../../src/auth/sigv4.js';
import { expectError, put, write } from './sync-helpers.js';

/**
 * Push devices and dataset subscriptions (identity credentials only), and the credential-class rules of SPEC §3.
 * Until Cognito Identity issues credentials, identity principals are minted through the server's
 * `extraCredentials` test seam.
 */

const WRONG_CLASS = 'These credentials are not valid for accessing this resource';
const GCM_APP = 'arn:aws:sns:us-east-1:123456789012:app/GCM/my_app';
const APNS_APP = 'arn:aws:sns:us-east-1:123456789012:app/APNS/my_app';
const PUSH_ROLE = 'arn:aws:iam::123456789012:role/cognito-push';

interface Minted { secretAccessKey: string; sessionToken: string; identityId: string; identityPoolId: string }
const minted = new Map<string, Minted>();

/** Identity principals for access keys minted below; the session token must come along, as with STS credentials. */
const identityResolver: CredentialResolver = (accessKeyId, sessionToken) => {
  const m = minted.get(accessKeyId);
  if (!m || m.sessionToken !== sessionToken) return undefined;
  return {
    secretAccessKey: m.secretAccessKey,
    principal: { kind: 'identity', accessKeyId, identityId: m.identityId, identityPoolId: m.identityPoolId, accountId: TEST_CREDENTIALS.accountId },
  };
};

let t: TestServer;
let dev: CognitoSyncClient;
let poolId: string;

beforeAll(async () => {
  t = await startServer({ credentials: identityResolver });
  dev = clients(t).sync;
  ({ poolId } = await poolWithIdentity(t, 'devices_pool'));
  await configurePush(poolId, [GCM_APP]);
});
afterAll(() => t.close());

/** A sync client holding identity credentials for one identity. */
function identityClient(identityPoolId: string, identityId: string): CognitoSyncClient {
  const accessKeyId = `ASIATEST${String(minted.size).padStart(12, '0')}`;
  const credentials = { accessKeyId, secretAccessKey: `secret-${accessKeyId}`, sessionToken: `token-${accessKeyId}` };
  minted.set(accessKeyId, { secretAccessKey: credentials.secretAccessKey, sessionToken: credentials.sessionToken, identityId, identityPoolId });
  return clients(t, credentials).sync;
}

async function newIdentity(pool = poolId) {
  const identityId = (await clients(t).identity.send(new GetIdCommand({ IdentityPoolId: pool }))).IdentityId ?? '';
  return { identityId, sync: identityClient(pool, identityId) };
}

function configurePush(IdentityPoolId: string, ApplicationArns: string[]) {
  return dev.send(new SetIdentityPoolConfigurationCommand({ IdentityPoolId, PushSync: { ApplicationArns, RoleArn: PUSH_ROLE } }));
}

const register = (sync: CognitoSyncClient, IdentityId: string, Token: string, Platform: Platform = 'GCM', IdentityPoolId = poolId) =>
  sync.send(new RegisterDeviceCommand({ IdentityPoolId, IdentityId, Platform, Token }));
const subscribe = (sync: CognitoSyncClient, IdentityId: string, DatasetName: string, DeviceId: string, IdentityPoolId = poolId) =>
  sync.send(new SubscribeToDatasetCommand({ IdentityPoolId, IdentityId, DatasetName, DeviceId }));
const unsubscribe = (sync: CognitoSyncClient, IdentityId: string, DatasetName: string, DeviceId: string, IdentityPoolId = poolId) =>
  sync.send(new UnsubscribeFromDatasetCommand({ IdentityPoolId, IdentityId, DatasetName, DeviceId }));

describe('credential classes', () => {
  it('developer credentials are refused with 403 for RegisterDevice, SubscribeToDataset and UnsubscribeFromDataset', async () => {
    const { identityId, sync } = await newIdentity();
    await write(sync, { poolId, identityId, dataset: 'd' }, [put('k', 'v')]);
    const { DeviceId = '' } = await register(sync, identityId, 'dev-token');
    await expectError(register(dev, identityId, 'dev-token'), 'NotAuthorizedException', 403, WRONG_CLASS);
    await expectError(subscribe(dev, identityId, 'd', DeviceId), 'NotAuthorizedException', 403, WRONG_CLASS);
    await subscribe(sync, identityId, 'd', DeviceId);
    await expectError(unsubscribe(dev, identityId, 'd', DeviceId), 'NotAuthorizedException', 403, WRONG_CLASS);
    // Nothing was undone by the refused call.
    await unsubscribe(sync, identityId, 'd', DeviceId);
  });

  it('identity credentials are refused with 403 on every developer-only operation', async () => {
    const { sync } = await newIdentity();
    const IdentityPoolId = poolId;
    const calls: [string, () => Promise<unknown>][] = [
      ['BulkPublish', () => sync.send(new BulkPublishCommand({ IdentityPoolId }))],
      ['GetBulkPublishDetails', () => sync.send(new GetBulkPublishDetailsCommand({ IdentityPoolId }))],
      ['DescribeIdentityPoolUsage', () => sync.send(new DescribeIdentityPoolUsageCommand({ IdentityPoolId }))],
      ['ListIdentityPoolUsage', () => sync.send(new ListIdentityPoolUsageCommand({}))],
      ['GetCognitoEvents', () => sync.send(new GetCognitoEventsCommand({ IdentityPoolId }))],
      ['SetCognitoEvents', () => sync.send(new SetCognitoEventsCommand({ IdentityPoolId, Events: { SyncTrigger: '' } }))],
      ['GetIdentityPoolConfiguration', () => sync.send(new GetIdentityPoolConfigurationCommand({ IdentityPoolId }))],
      ['SetIdentityPoolConfiguration', () => sync.send(new SetIdentityPoolConfigurationCommand({ IdentityPoolId, PushSync: { ApplicationArns: [] } }))],
    ];
    for (const [name, call] of calls) {
      await expectError(call(), 'NotAuthorizedException', 403, WRONG_CLASS).catch((err: Error) => {
        throw new Error(`${name}: ${err.message}`);
      });
    }
    // The refused SetIdentityPoolConfiguration did not clear push.
    expect((await dev.send(new GetIdentityPoolConfigurationCommand({ IdentityPoolId }))).PushSync?.ApplicationArns).toEqual([GCM_APP]);
  });

  it('identity credentials work on the data plane of their own identity; writes name the identity as LastModifiedBy', async () => {
    const { identityId, sync } = await newIdentity();
    const ref = { poolId, identityId, dataset: 'mine' };
    const out = await write(sync, ref, [put('k', 'v')]);
    expect(out.Records?.[0]?.LastModifiedBy).toBe(identityId);
    const ids = { IdentityPoolId: poolId, IdentityId: identityId };
    expect((await sync.send(new ListDatasetsCommand(ids))).Count).toBe(1);
    expect((await sync.send(new DescribeDatasetCommand({ ...ids, DatasetName: 'mine' }))).Dataset?.LastModifiedBy).toBe(identityId);
    expect((await sync.send(new DescribeIdentityUsageCommand(ids))).IdentityUsage?.DatasetCount).toBe(1);
    expect((await sync.send(new DeleteDatasetCommand({ ...ids, DatasetName: 'mine' }))).Dataset?.NumRecords).toBe(1);
  });

  it("identity credentials for A are refused with 403 on B's paths (same pool or another) for every data-plane operation", async () => {
    const a = await newIdentity();
    const b = await newIdentity();
    await write(b.sync, { poolId, identityId: b.identityId, dataset: 'd' }, [put('k', 'v')]);
    const { DeviceId = '' } = await register(b.sync, b.identityId, 'b-token');
    await subscribe(b.sync, b.identityId, 'd', DeviceId);
    const other = await poolWithIdentity(t, 'devices_other');
    await configurePush(other.poolId, [GCM_APP]);
    const targets = [
      { IdentityPoolId: poolId, IdentityId: b.identityId },
      { IdentityPoolId: other.poolId, IdentityId: other.identityId },
      // A's own identity ID under another pool's path.
      { IdentityPoolId: other.poolId, IdentityId: a.identityId },
    ];
    for (const ids of targets) {
      const ds = { ...ids, DatasetName: 'd' };
      const calls: [string, () => Promise<unknown>][] = [
        ['ListRecords', () => a.sync.send(new ListRecordsCommand(ds))],
        ['UpdateRecords', () => a.sync.send(new UpdateRecordsCommand({ ...ds, SyncSessionToken: 'x', RecordPatches: [put('k', 'evil')] }))],
        ['ListDatasets', () => a.sync.send(new ListDatasetsCommand(ids))],
        ['DescribeDataset', () => a.sync.send(new DescribeDatasetCommand(ds))],
        ['DeleteDataset', () => a.sync.send(new DeleteDatasetCommand(ds))],
        ['DescribeIdentityUsage', () => a.sync.send(new DescribeIdentityUsageCommand(ids))],
        ['RegisterDevice', () => register(a.sync, ids.IdentityId, 'a-token', 'GCM', ids.IdentityPoolId)],
        ['SubscribeToDataset', () => subscribe(a.sync, ids.IdentityId, 'd', DeviceId, ids.IdentityPoolId)],
        ['UnsubscribeFromDataset', () => unsubscribe(a.sync, ids.IdentityId, 'd', DeviceId, ids.IdentityPoolId)],
      ];
      for (const [name, call] of calls) {
        await expectError(call(), 'NotAuthorizedException', 403, 'is forbidden').catch((err: Error) => {
          throw new Error(`${name} on ${ids.IdentityPoolId}/${ids.IdentityId}: ${err.message}`);
        });
      }
    }
    // B's data and subscription are untouched.
    const records = await b.sync.send(new ListRecordsCommand({ IdentityPoolId: poolId, IdentityId: b.identityId, DatasetName: 'd' }));
    expect(records.Records?.map((r) => [r.Key, r.Value])).toEqual([['k', 'v']]);
    await unsubscribe(b.sync, b.identityId, 'd', DeviceId);
  });

  it('unknown identity credentials are refused before any operation runs', async () => {
    const unknown = { accessKeyId: 'ASIAUNKNOWN000000000', secretAccessKey: 'nope', sessionToken: 'nope' };
    const stranger = clients(t, unknown).sync;
    const err = await stranger.send(new ListDatasetsCommand({ IdentityPoolId: poolId, IdentityId: 'us-east-1:0a' }))
      .then(() => undefined, (e: unknown) => e as { $metadata?: { httpStatusCode?: number } });
    expect(err?.$metadata?.httpStatusCode).toBe(403);
  });
});

describe('RegisterDevice', () => {
  describe('functionality', () => {
    it('answers a DeviceId; the same token registers to the same DeviceId, another token to another', async () => {
      const { identityId, sync } = await newIdentity();
      const first = await register(sync, identityId, 'ABCDEF0123456789');
      expect(first.DeviceId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect((await register(sync, identityId, 'ABCDEF0123456789')).DeviceId).toBe(first.DeviceId);
      const other = await register(sync, identityId, 'abcdef0123456789');
      expect(other.DeviceId).not.toBe(first.DeviceId);
    });

    it('a token holding U+0000 is refused with 400 (no push service issues one; PostgreSQL cannot store it)', async () => {
      const { identityId, sync } = await newIdentity();
      const err = await register(sync, identityId, 'abc\u0000def').catch((e: unknown) => e as { name?: string; message?: string });
      expect(err).toMatchObject({ name: 'InvalidParameterException', message: expect.stringMatching(/'token'.*U\+0000/) });
    });

    it('the same token for another identity is another device', async () => {
      const a = await newIdentity();
      const b = await newIdentity();
      const da = await register(a.sync, a.identityId, 'shared-token');
      const db = await register(b.sync, b.identityId, 'shared-token');
      expect(db.DeviceId).not.toBe(da.DeviceId);
    });
  });

  describe('validations', () => {
    it('needs PushSync configured with an application for the platform (InvalidConfigurationException)', async () => {
      const fresh = await poolWithIdentity(t, 'no_push');
      const sync = identityClient(fresh.poolId, fresh.identityId);
      await expectError(register(sync, fresh.identityId, 't', 'GCM', fresh.poolId), 'InvalidConfigurationException', 400, 'not configured');
      await configurePush(fresh.poolId, [APNS_APP]);
      await expectError(register(sync, fresh.identityId, 't', 'GCM', fresh.poolId), 'InvalidConfigurationException', 400, 'GCM');
      await expectError(register(sync, fresh.identityId, 't', 'APNS_SANDBOX', fresh.poolId), 'InvalidConfigurationException', 400);
      expect((await register(sync, fresh.identityId, 't', 'APNS', fresh.poolId)).DeviceId).toBeTruthy();
    });

    it('refuses an unknown platform and a missing token', async () => {
      const { identityId, sync } = await newIdentity();
      await expectError(register(sync, identityId, 't', 'WNS' as Platform), 'InvalidParameterException', 400,
        "Value 'WNS' at 'platform' failed to satisfy constraint: Member must satisfy enum value set: [APNS, APNS_SANDBOX, GCM, ADM]");
      await expectError(register(sync, identityId, undefined as never), 'InvalidParameterException', 400, "Value null at 'token'");
    });

    it('answers 404 for an identity that does not exist (credentials minted for it)', async () => {
      const ghost = 'us-east-1:22222222-2222-4222-8222-222222222222';
      await expectError(register(identityClient(poolId, ghost), ghost, 't'), 'ResourceNotFoundException', 404, ghost);
    });
  });
});

describe('SubscribeToDataset and UnsubscribeFromDataset', () => {
  describe('functionality', () => {
    it('subscribes (idempotently) and unsubscribes; unsubscribing again answers 404', async () => {
      const { identityId, sync } = await newIdentity();
      await write(sync, { poolId, identityId, dataset: 'scores' }, [put('k', 'v')]);
      const { DeviceId = '' } = await register(sync, identityId, 'token-1');
      const out = await subscribe(sync, identityId, 'scores', DeviceId);
      expect(out.$metadata.httpStatusCode).toBe(200);
      await subscribe(sync, identityId, 'scores', DeviceId);
      expect(await t.services.store.listSubscribedDevices(identityId, 'scores')).toHaveLength(1);
      await unsubscribe(sync, identityId, 'scores', DeviceId);
      expect(await t.services.store.listSubscribedDevices(identityId, 'scores')).toHaveLength(0);
      await expectError(unsubscribe(sync, identityId, 'scores', DeviceId), 'ResourceNotFoundException', 404, 'not subscribed');
    });

    it.each([['a slash', 'dev/ice'], ['a space', 'my device'], ['a plus', 'a+b'], ['a colon', 'us-east-1:dev'],
      ['non-ASCII text', 'téléphone-日本-🎉'], ['all of them', 'x/ y+z:é/']])(
      'round-trips a DeviceId label with %s', async (_what, deviceId) => {
        const { identityId, sync } = await newIdentity();
        await write(sync, { poolId, identityId, dataset: 'labels' }, [put('k', 'v')]);
        // DeviceIds are issued by the server (UUIDs); store one with this label directly.
        await t.services.store.registerDevice({ deviceId, identityId, platform: 'GCM', token: `token ${deviceId}`, createdAt: Date.now() });
        await subscribe(sync, identityId, 'labels', deviceId);
        const devices = await t.services.store.listSubscribedDevices(identityId, 'labels');
        expect(devices.map((d) => d.deviceId)).toEqual([deviceId]);
        await unsubscribe(sync, identityId, 'labels', deviceId);
        await expectError(unsubscribe(sync, identityId, 'labels', deviceId), 'ResourceNotFoundException', 404);
      });

    it('deleting the dataset ends its subscriptions', async () => {
      const { identityId, sync } = await newIdentity();
      await write(sync, { poolId, identityId, dataset: 'temp' }, [put('k', 'v')]);
      const { DeviceId = '' } = await register(sync, identityId, 'token-temp');
      await subscribe(sync, identityId, 'temp', DeviceId);
      await sync.send(new DeleteDatasetCommand({ IdentityPoolId: poolId, IdentityId: identityId, DatasetName: 'temp' }));
      await expectError(unsubscribe(sync, identityId, 'temp', DeviceId), 'ResourceNotFoundException', 404);
    });
  });

  describe('validations', () => {
    it('the dataset must exist (404), and a deleted one no longer does', async () => {
      const { identityId, sync } = await newIdentity();
      const { DeviceId = '' } = await register(sync, identityId, 'token-2');
      await expectError(subscribe(sync, identityId, 'never', DeviceId), 'ResourceNotFoundException', 404, 'never');
      await write(sync, { poolId, identityId, dataset: 'gone' }, [put('k', 'v')]);
      await sync.send(new DeleteDatasetCommand({ IdentityPoolId: poolId, IdentityId: identityId, DatasetName: 'gone' }));
      await expectError(subscribe(sync, identityId, 'gone', DeviceId), 'ResourceNotFoundException', 404, 'gone');
    });

    it("the device must be registered to the identity: unknown or another identity's device answers 404", async () => {
      const a = await newIdentity();
      const b = await newIdentity();
      await write(a.sync, { poolId, identityId: a.identityId, dataset: 'd' }, [put('k', 'v')]);
      const { DeviceId: bDevice = '' } = await register(b.sync, b.identityId, 'b-device');
      await expectError(subscribe(a.sync, a.identityId, 'd', bDevice), 'ResourceNotFoundException', 404, bDevice);
      await expectError(unsubscribe(a.sync, a.identityId, 'd', bDevice), 'ResourceNotFoundException', 404, bDevice);
      await expectError(subscribe(a.sync, a.identityId, 'd', 'no-such-device'), 'ResourceNotFoundException', 404, 'no-such-device');
      expect(await t.services.store.listSubscribedDevices(a.identityId, 'd')).toHaveLength(0);
    });

    it('subscribing needs push still configured for the device platform (InvalidConfigurationException); unsubscribing does not', async () => {
      const fresh = await poolWithIdentity(t, 'push_removed');
      await configurePush(fresh.poolId, [GCM_APP]);
      const sync = identityClient(fresh.poolId, fresh.identityId);
      await write(sync, { poolId: fresh.poolId, identityId: fresh.identityId, dataset: 'd' }, [put('k', 'v')]);
      const { DeviceId = '' } = await register(sync, fresh.identityId, 't', 'GCM', fresh.poolId);
      await subscribe(sync, fresh.identityId, 'd', DeviceId, fresh.poolId);
      await configurePush(fresh.poolId, [APNS_APP]);
      await expectError(subscribe(sync, fresh.identityId, 'd', DeviceId, fresh.poolId), 'InvalidConfigurationException', 400, 'GCM');
      // The device can still end the subscription it has, so no push is left pending for it.
      await unsubscribe(sync, fresh.identityId, 'd', DeviceId, fresh.poolId);
      expect(await t.services.store.listSubscribedDevices(fresh.identityId, 'd')).toHaveLength(0);
      await expectError(unsubscribe(sync, fresh.identityId, 'd', DeviceId, fresh.poolId), 'ResourceNotFoundException', 404);
    });

    it('refuses a DeviceId label longer than 256 characters', async () => {
      const { identityId, sync } = await newIdentity();
      await expectError(subscribe(sync, identityId, 'd', 'x'.repeat(257)), 'InvalidParameterException', 400,
        "at 'deviceId' failed to satisfy constraint: Member must have length less than or equal to 256");
    });
  });
});
