import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BulkPublishCommand, CognitoSyncClient, GetBulkPublishDetailsCommand, GetCognitoEventsCommand,
  GetIdentityPoolConfigurationCommand, SetCognitoEventsCommand, SetIdentityPoolConfigurationCommand,
  type CognitoStreams, type GetBulkPublishDetailsResponse, type PushSync,
} from '@aws-sdk/client-cognito-sync';
import { CognitoIdentityClient } from '@aws-sdk/client-cognito-identity';
import { manualClock, poolMaker, startServer, type TestServer } from '../helpers/server.js';
import { expectError } from './sync-helpers.js';

/**
 * Pool-level Cognito Sync settings (developer credentials only): Cognito Events, the identity pool
 * configuration (PushSync, CognitoStreams) and bulk publish. One server with a manual clock and a bulk-publish
 * hook whose behaviour each test sets.
 */

let t: TestServer;
const clock = manualClock(Date.now());
let publish: () => Promise<void> = () => Promise.resolve();

const UNKNOWN_POOL = 'us-east-1:00000000-0000-4000-8000-000000000000';
const LAMBDA = 'arn:aws:lambda:us-east-1:123456789012:function:onSync';
const GCM_APP = 'arn:aws:sns:us-east-1:123456789012:app/GCM/my_app';
const APNS_APP = 'arn:aws:sns:us-east-1:123456789012:app/APNS_SANDBOX/my.app-1';
const PUSH_ROLE = 'arn:aws:iam::123456789012:role/cognito-push';
const STREAM_ROLE = 'arn:aws:iam::123456789012:role/cognito-streams';

beforeAll(async () => {
  t = await startServer({ clock, hooks: [{ name: 'slow', bulkPublish: () => publish() }] });
});
afterAll(() => t.close());

/**
 * Clients that sign at the server's (manual) time. The v3 client re-samples its clock offset from every
 * response's Date header (real time), so a fresh client is made for each call once the clock has moved.
 */
function dev() {
  const offset = clock.now() - Date.now();
  const config = { endpoint: t.endpoint, region: t.region, credentials: t.credentials, maxAttempts: 1, systemClockOffset: offset };
  return { sync: new CognitoSyncClient(config), identity: new CognitoIdentityClient(config) };
}

const newPool = poolMaker('settings', () => dev().identity);

const getEvents = (IdentityPoolId: string) => dev().sync.send(new GetCognitoEventsCommand({ IdentityPoolId }));
const setEvents = (IdentityPoolId: string, Events: Record<string, string>) =>
  dev().sync.send(new SetCognitoEventsCommand({ IdentityPoolId, Events }));
const getConfig = (IdentityPoolId: string) => dev().sync.send(new GetIdentityPoolConfigurationCommand({ IdentityPoolId }));
const setConfig = (IdentityPoolId: string, sections: { PushSync?: PushSync; CognitoStreams?: CognitoStreams }) =>
  dev().sync.send(new SetIdentityPoolConfigurationCommand({ IdentityPoolId, ...sections }));
const bulkPublish = (IdentityPoolId: string) => dev().sync.send(new BulkPublishCommand({ IdentityPoolId }));
const details = (IdentityPoolId: string) => dev().sync.send(new GetBulkPublishDetailsCommand({ IdentityPoolId }));

const streams = (StreamingStatus: 'ENABLED' | 'DISABLED' = 'ENABLED'): CognitoStreams =>
  ({ StreamName: 'sync-stream', RoleArn: STREAM_ROLE, StreamingStatus });

/** Polls GetBulkPublishDetails until the run has left IN_PROGRESS. */
async function settled(poolId: string): Promise<GetBulkPublishDetailsResponse> {
  for (let i = 0; i < 200; i++) {
    const out = await details(poolId);
    if (out.BulkPublishStatus !== 'IN_PROGRESS') return out;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('bulk publish never finished');
}

/** A promise the test resolves when it wants the bulk-publish hook to finish. */
function gate() {
  let release = () => {};
  const done = new Promise<void>((resolve) => { release = resolve; });
  return { done, release };
}

describe('Get/SetCognitoEvents', () => {
  describe('functionality', () => {
    it('starts empty; keys present change, keys absent keep their value, an empty value removes the key', async () => {
      const pool = await newPool();
      expect((await getEvents(pool)).Events ?? {}).toEqual({});
      expect(await setEvents(pool, { SyncTrigger: LAMBDA })).toMatchObject({ $metadata: { httpStatusCode: 200 } });
      expect((await getEvents(pool)).Events).toEqual({ SyncTrigger: LAMBDA });
      await setEvents(pool, { SyncTrigger: `${LAMBDA}:v2` });
      expect((await getEvents(pool)).Events).toEqual({ SyncTrigger: `${LAMBDA}:v2` });
      await setEvents(pool, {});
      expect((await getEvents(pool)).Events).toEqual({ SyncTrigger: `${LAMBDA}:v2` });
      await setEvents(pool, { SyncTrigger: '' });
      expect((await getEvents(pool)).Events ?? {}).toEqual({});
      await setEvents(pool, { SyncTrigger: '' });
      expect((await getEvents(pool)).Events ?? {}).toEqual({});
    });

    it('keeps events per pool', async () => {
      const [a, b] = [await newPool(), await newPool()];
      await setEvents(a, { SyncTrigger: LAMBDA });
      expect((await getEvents(b)).Events ?? {}).toEqual({});
    });
  });

  describe('validations', () => {
    it('refuses more than one entry (model: Events max 1) and changes nothing', async () => {
      const pool = await newPool();
      await setEvents(pool, { SyncTrigger: LAMBDA });
      await expectError(setEvents(pool, { SyncTrigger: '', Other: LAMBDA }), 'InvalidParameterException', 400,
        "at 'events' failed to satisfy constraint: Member must have length less than or equal to 1");
      expect((await getEvents(pool)).Events).toEqual({ SyncTrigger: LAMBDA });
    });

    it('refuses an unknown event type', async () => {
      const pool = await newPool();
      await expectError(setEvents(pool, { PushTrigger: LAMBDA }), 'InvalidParameterException', 400, "'PushTrigger'");
      expect((await getEvents(pool)).Events ?? {}).toEqual({});
    });

    it('refuses a missing Events map', async () => {
      const pool = await newPool();
      await expectError(dev().sync.send(new SetCognitoEventsCommand({ IdentityPoolId: pool, Events: undefined as never })),
        'InvalidParameterException', 400, "Value null at 'events' failed to satisfy constraint: Member must not be null");
    });

    it('answers 404 for an unknown pool and InvalidParameterException for a malformed one', async () => {
      await expectError(getEvents(UNKNOWN_POOL), 'ResourceNotFoundException', 404, UNKNOWN_POOL);
      await expectError(setEvents(UNKNOWN_POOL, { SyncTrigger: LAMBDA }), 'ResourceNotFoundException', 404, UNKNOWN_POOL);
      await expectError(getEvents('no-colon'), 'InvalidParameterException', 400, "at 'identityPoolId'");
    });
  });
});

describe('Get/SetIdentityPoolConfiguration', () => {
  describe('functionality', () => {
    it('a pool never configured has neither section', async () => {
      const pool = await newPool();
      const out = await getConfig(pool);
      expect(out.IdentityPoolId).toBe(pool);
      expect(out.PushSync).toBeUndefined();
      expect(out.CognitoStreams).toBeUndefined();
    });

    it('round-trips PushSync and CognitoStreams; a section left out keeps its value', async () => {
      const pool = await newPool();
      const push = { ApplicationArns: [GCM_APP, APNS_APP], RoleArn: PUSH_ROLE };
      const set = await setConfig(pool, { PushSync: push });
      expect(set).toMatchObject({ IdentityPoolId: pool, PushSync: push });
      expect(set.CognitoStreams).toBeUndefined();
      const both = await setConfig(pool, { CognitoStreams: streams() });
      expect(both).toMatchObject({ IdentityPoolId: pool, PushSync: push, CognitoStreams: streams() });
      expect(await getConfig(pool)).toMatchObject({ IdentityPoolId: pool, PushSync: push, CognitoStreams: streams() });

      await setConfig(pool, { PushSync: { ApplicationArns: [GCM_APP], RoleArn: PUSH_ROLE } });
      expect(await getConfig(pool)).toMatchObject({
        PushSync: { ApplicationArns: [GCM_APP], RoleArn: PUSH_ROLE }, CognitoStreams: streams(),
      });
      await setConfig(pool, { CognitoStreams: streams('DISABLED') });
      expect(await getConfig(pool)).toMatchObject({
        PushSync: { ApplicationArns: [GCM_APP], RoleArn: PUSH_ROLE }, CognitoStreams: streams('DISABLED'),
      });
      await setConfig(pool, {});
      expect(await getConfig(pool)).toMatchObject({
        PushSync: { ApplicationArns: [GCM_APP] }, CognitoStreams: { StreamingStatus: 'DISABLED' },
      });
    });

    it('accepts a StreamName of 128 characters', async () => {
      const pool = await newPool();
      const name = 's'.repeat(128);
      const out = await setConfig(pool, { CognitoStreams: { ...streams(), StreamName: name } });
      expect(out.CognitoStreams?.StreamName).toBe(name);
    });
  });

  describe('validations', () => {
    const cases: [string, { PushSync?: PushSync; CognitoStreams?: CognitoStreams }, string][] = [
      ['an ApplicationArn with a lower-case platform',
        { PushSync: { ApplicationArns: ['arn:aws:sns:us-east-1:123456789012:app/gcm/my_app'], RoleArn: PUSH_ROLE } },
        "at 'pushSync.applicationArns.1.member' failed to satisfy constraint: Member must satisfy regular expression pattern"],
      ['an ApplicationArn that is not an SNS application',
        { PushSync: { ApplicationArns: [GCM_APP, 'arn:aws:sns:us-east-1:123456789012:mytopic'], RoleArn: PUSH_ROLE } },
        "at 'pushSync.applicationArns.2.member'"],
      ['a PushSync RoleArn that is not a role',
        { PushSync: { ApplicationArns: [GCM_APP], RoleArn: 'arn:aws:iam::123456789012:user/bob' } },
        "at 'pushSync.roleArn' failed to satisfy constraint: Member must satisfy regular expression pattern"],
      ['a RoleArn with a line break (as in Java, `.` matches none)',
        { PushSync: { ApplicationArns: [GCM_APP], RoleArn: `${PUSH_ROLE}\nx` } },
        "at 'pushSync.roleArn' failed to satisfy constraint: Member must satisfy regular expression pattern"],
      ['a CognitoStreams RoleArn shorter than 20',
        { CognitoStreams: { ...streams(), RoleArn: 'arn:aws:iam::1:role' } },
        "at 'cognitoStreams.roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20"],
      ['a StreamName of 129 characters',
        { CognitoStreams: { ...streams(), StreamName: 's'.repeat(129) } },
        "at 'cognitoStreams.streamName' failed to satisfy constraint: Member must have length less than or equal to 128"],
      ['an unknown StreamingStatus',
        { CognitoStreams: { ...streams(), StreamingStatus: 'PAUSED' as never } },
        "Value 'PAUSED' at 'cognitoStreams.streamingStatus' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED]"],
      ['lower-case enabled',
        { CognitoStreams: { ...streams(), StreamingStatus: 'enabled' as never } },
        "at 'cognitoStreams.streamingStatus'"],
      ['streaming ENABLED without a stream name',
        { CognitoStreams: { RoleArn: STREAM_ROLE, StreamingStatus: 'ENABLED' } },
        'StreamName'],
    ];
    it.each(cases)('refuses %s with InvalidParameterException naming the member, storing nothing', async (_what, sections, message) => {
      const pool = await newPool();
      await expectError(setConfig(pool, sections), 'InvalidParameterException', 400, message);
      const out = await getConfig(pool);
      expect(out.PushSync).toBeUndefined();
      expect(out.CognitoStreams).toBeUndefined();
    });

    it('a bad section refuses the whole request: the good section is not stored either', async () => {
      const pool = await newPool();
      await expectError(setConfig(pool, {
        PushSync: { ApplicationArns: [GCM_APP], RoleArn: PUSH_ROLE },
        CognitoStreams: { ...streams(), StreamName: 's'.repeat(129) },
      }), 'InvalidParameterException', 400, 'cognitoStreams.streamName');
      expect((await getConfig(pool)).PushSync).toBeUndefined();
    });

    it('answers 404 for an unknown pool', async () => {
      await expectError(getConfig(UNKNOWN_POOL), 'ResourceNotFoundException', 404, UNKNOWN_POOL);
      await expectError(setConfig(UNKNOWN_POOL, { CognitoStreams: streams() }), 'ResourceNotFoundException', 404, UNKNOWN_POOL);
    });
  });
});

describe('BulkPublish and GetBulkPublishDetails', () => {
  describe('functionality', () => {
    it('reports NOT_STARTED before any bulk publish, with no times', async () => {
      const pool = await newPool();
      const out = await details(pool);
      expect(out).toMatchObject({ IdentityPoolId: pool, BulkPublishStatus: 'NOT_STARTED' });
      expect(out.BulkPublishStartTime).toBeUndefined();
      expect(out.BulkPublishCompleteTime).toBeUndefined();
      expect(out.FailureMessage).toBeUndefined();
    });

    it('is refused while Cognito Streams is not configured or DISABLED', async () => {
      const pool = await newPool();
      await expectError(bulkPublish(pool), 'InvalidParameterException', 400, 'not enabled');
      await setConfig(pool, { CognitoStreams: streams('DISABLED') });
      await expectError(bulkPublish(pool), 'InvalidParameterException', 400, 'not enabled');
      expect((await details(pool)).BulkPublishStatus).toBe('NOT_STARTED');
    });

    it('succeeds with start and completion times once streaming is ENABLED', async () => {
      publish = () => Promise.resolve();
      const pool = await newPool();
      await setConfig(pool, { CognitoStreams: streams() });
      const started = clock.now();
      expect(await bulkPublish(pool)).toMatchObject({ IdentityPoolId: pool });
      const out = await settled(pool);
      expect(out).toMatchObject({ IdentityPoolId: pool, BulkPublishStatus: 'SUCCEEDED' });
      expect(out.BulkPublishStartTime).toBeInstanceOf(Date);
      expect(out.BulkPublishStartTime?.getTime()).toBe(started);
      expect(out.BulkPublishCompleteTime).toBeInstanceOf(Date);
      expect(out.BulkPublishCompleteTime?.getTime()).toBeGreaterThanOrEqual(started);
      expect(out.FailureMessage).toBeUndefined();
    });

    it('answers DuplicateRequestException while a run is IN_PROGRESS', async () => {
      const slow = gate();
      let calls = 0;
      publish = () => { calls++; return slow.done; };
      const pool = await newPool();
      await setConfig(pool, { CognitoStreams: streams() });
      await bulkPublish(pool);
      const running = await details(pool);
      expect(running.BulkPublishStatus).toBe('IN_PROGRESS');
      expect(running.BulkPublishStartTime).toBeInstanceOf(Date);
      expect(running.BulkPublishCompleteTime).toBeUndefined();
      await expectError(bulkPublish(pool), 'DuplicateRequestException', 400, 'in progress');
      expect(calls).toBe(1);
      slow.release();
      expect((await settled(pool)).BulkPublishStatus).toBe('SUCCEEDED');
    });

    it('of concurrent requests exactly one starts a run; the others get DuplicateRequestException', async () => {
      const slow = gate();
      let calls = 0;
      publish = () => { calls++; return slow.done; };
      const pool = await newPool();
      await setConfig(pool, { CognitoStreams: streams() });
      const results = await Promise.allSettled(Array.from({ length: 6 }, () => bulkPublish(pool)));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(refused.map((r) => (r.reason as Error).name)).toEqual(Array(5).fill('DuplicateRequestException'));
      expect(calls).toBe(1);
      slow.release();
      expect((await settled(pool)).BulkPublishStatus).toBe('SUCCEEDED');
    });

    it('answers AlreadyStreamedException within 24 hours of a success, and allows a new run after', async () => {
      publish = () => Promise.resolve();
      const pool = await newPool();
      await setConfig(pool, { CognitoStreams: streams() });
      await bulkPublish(pool);
      const first = await settled(pool);
      expect(first.BulkPublishStatus).toBe('SUCCEEDED');
      const completed = first.BulkPublishCompleteTime?.getTime() ?? 0;
      await expectError(bulkPublish(pool), 'AlreadyStreamedException', 400, '24 hours');
      clock.set(completed + 24 * 3600_000 - 1);
      await expectError(bulkPublish(pool), 'AlreadyStreamedException', 400);
      expect(await details(pool)).toMatchObject({ BulkPublishStatus: 'SUCCEEDED', BulkPublishCompleteTime: new Date(completed) });
      clock.advance(1);
      await bulkPublish(pool);
      const second = await settled(pool);
      expect(second.BulkPublishStatus).toBe('SUCCEEDED');
      expect(second.BulkPublishStartTime?.getTime()).toBe(completed + 24 * 3600_000);
    });

    it('reports FAILED with the failure message when publishing throws; a failure does not start the 24-hour wait', async () => {
      publish = () => Promise.reject(new Error('stream sync-stream is not reachable'));
      const pool = await newPool();
      await setConfig(pool, { CognitoStreams: streams() });
      await bulkPublish(pool);
      const failed = await settled(pool);
      expect(failed).toMatchObject({ BulkPublishStatus: 'FAILED', FailureMessage: 'stream sync-stream is not reachable' });
      expect(failed.BulkPublishStartTime).toBeInstanceOf(Date);
      expect(failed.BulkPublishCompleteTime).toBeUndefined();
      publish = () => Promise.resolve();
      await bulkPublish(pool);
      const retried = await settled(pool);
      expect(retried.BulkPublishStatus).toBe('SUCCEEDED');
      expect(retried.FailureMessage).toBeUndefined();
    });

    it('counts a run whose server stopped without a word as FAILED once its lease runs out', async () => {
      const pool = await newPool();
      await setConfig(pool, { CognitoStreams: streams() });
      // What a server that crashed mid-run leaves: IN_PROGRESS, leased for a minute, and nobody renewing it.
      const startedAt = clock.now();
      await t.services.store.updatePoolSyncSettings(pool, (s) => ({ ...s, bulkPublish: {
        status: 'IN_PROGRESS', startedAt, completedAt: null, failureMessage: null, leaseUntil: startedAt + 60_000,
      } }));
      clock.advance(60_000);
      expect((await details(pool)).BulkPublishStatus).toBe('IN_PROGRESS');
      await expectError(bulkPublish(pool), 'DuplicateRequestException', 400, 'in progress');
      clock.advance(1);
      const failed = await details(pool);
      expect(failed).toMatchObject({ BulkPublishStatus: 'FAILED', FailureMessage: expect.stringMatching(/interrupted/) });
      expect(failed.BulkPublishStartTime?.getTime()).toBe(startedAt);
      publish = () => Promise.resolve();
      await bulkPublish(pool);
      expect((await settled(pool)).BulkPublishStatus).toBe('SUCCEEDED');
    });

    it('keeps bulk publish state per pool', async () => {
      publish = () => Promise.resolve();
      const [a, b] = [await newPool(), await newPool()];
      await setConfig(a, { CognitoStreams: streams() });
      await setConfig(b, { CognitoStreams: streams() });
      await bulkPublish(a);
      await settled(a);
      expect((await details(b)).BulkPublishStatus).toBe('NOT_STARTED');
      await bulkPublish(b);
      expect((await settled(b)).BulkPublishStatus).toBe('SUCCEEDED');
    });
  });

  describe('validations', () => {
    it('answers 404 for an unknown pool', async () => {
      await expectError(bulkPublish(UNKNOWN_POOL), 'ResourceNotFoundException', 404, UNKNOWN_POOL);
      await expectError(details(UNKNOWN_POOL), 'ResourceNotFoundException', 404, UNKNOWN_POOL);
    });

    it('answers InvalidParameterException for a malformed pool ID', async () => {
      await expectError(details('us-east-1:NOT-HEX'), 'InvalidParameterException', 400, "at 'identityPoolId'");
    });
  });
});

describe('serializations', () => {
  it('every settings operation answers with the request ID and JSON the official client parses', async () => {
    const out = await dev().sync.send(new GetBulkPublishDetailsCommand({ IdentityPoolId: await newPool() }));
    expect(out.$metadata.httpStatusCode).toBe(200);
    expect(out.$metadata.requestId).toBeTruthy();
  });
});
