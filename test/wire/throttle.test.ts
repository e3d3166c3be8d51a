/**
 * Token buckets per identity and per identity pool through the real server (TooManyRequestsException, 429),
 * with a manual clock so refills are exact. The clock starts at the real time: the SDK signs with the real time.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ListIdentityPoolUsageCommand, ListRecordsCommand, type CognitoSyncClient } from '@aws-sdk/client-cognito-sync';
import {
  GetCredentialsForIdentityCommand, GetIdCommand, GetOpenIdTokenCommand, ListIdentityPoolsCommand,
} from '@aws-sdk/client-cognito-identity';
import { clients, manualClock, poolWithIdentity, startServer, type TestServer } from '../helpers/server.js';
import { expectError } from '../api/sync-helpers.js';
import { datasetPath, expectAwsError, raw } from './raw-http.js';

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const listRecords = (sync: CognitoSyncClient, poolId: string, identityId: string) =>
  sync.send(new ListRecordsCommand({ IdentityPoolId: poolId, IdentityId: identityId, DatasetName: 'ds' }));

async function secondIdentity(server: TestServer, poolId: string): Promise<string> {
  const { IdentityId } = await clients(server).identity.send(new GetIdCommand({ IdentityPoolId: poolId }));
  return IdentityId ?? '';
}

describe('per-identity bucket', () => {
  it('the 4th quick ListRecords on one identity → 429; another identity is unaffected; a refill allows it again', async () => {
    const clock = manualClock(Date.now());
    t = await startServer({ config: { throttle: { identityRatePerSecond: 2, identityBurst: 3 } }, clock });
    const { poolId, identityId } = await poolWithIdentity(t);
    const other = await secondIdentity(t, poolId);
    const { sync } = clients(t);

    for (let i = 0; i < 3; i++) await listRecords(sync, poolId, identityId);
    await expectError(listRecords(sync, poolId, identityId), 'TooManyRequestsException', 429, 'Rate exceeded');
    // The refused call took no token: still refused without time passing.
    const rawRefusal = await raw(t, { method: 'GET', path: `${datasetPath(poolId, identityId, 'ds')}/records`, sign: true });
    expectAwsError(rawRefusal, 429, 'TooManyRequestsException', 'Rate exceeded');
    expect(Number(rawRefusal.header('retry-after'))).toBeGreaterThanOrEqual(1);

    await expect(listRecords(sync, poolId, other)).resolves.toMatchObject({ DatasetExists: false });

    clock.advance(499); // 2 per second: not quite one token yet
    await expectError(listRecords(sync, poolId, identityId), 'TooManyRequestsException', 429);
    clock.advance(1);
    await expect(listRecords(sync, poolId, identityId)).resolves.toMatchObject({ DatasetExists: false });
    await expectError(listRecords(sync, poolId, identityId), 'TooManyRequestsException', 429);

    clock.advance(60_000); // refills to the burst, not beyond
    for (let i = 0; i < 3; i++) await listRecords(sync, poolId, identityId);
    await expectError(listRecords(sync, poolId, identityId), 'TooManyRequestsException', 429);
  });
});

describe('unsigned calls', () => {
  it('draw from a pool bucket of their own: an anonymous flood starves neither the pool\'s signed calls nor an identity', async () => {
    const clock = manualClock(Date.now());
    t = await startServer({ config: { throttle: { poolRatePerSecond: 2, poolBurst: 4, identityRatePerSecond: 2, identityBurst: 3 } }, clock });
    const a = await poolWithIdentity(t, 'pool_a');
    clock.advance(60_000);
    const { identity, sync } = clients(t);
    const anonymous = clients(t, { accessKeyId: 'AKIANOBODY0000000000', secretAccessKey: 'x' }).identity;
    // GetId is public: served whatever its signature, and a flood of them (awsJson: 400 with the type in the body).
    for (let i = 0; i < 4; i++) await anonymous.send(new GetIdCommand({ IdentityPoolId: a.poolId }));
    await expectError(anonymous.send(new GetIdCommand({ IdentityPoolId: a.poolId })), 'TooManyRequestsException', 400);
    await expectError(identity.send(new GetIdCommand({ IdentityPoolId: a.poolId })), 'TooManyRequestsException', 400);
    // The identity's own bucket (burst 3) and the pool's signed one (burst 4) are untouched.
    for (let i = 0; i < 3; i++) await listRecords(sync, a.poolId, a.identityId);
    await expectError(listRecords(sync, a.poolId, a.identityId), 'TooManyRequestsException', 429);
  });

  it('a clock stepped back refills nothing and drains nothing', async () => {
    const clock = manualClock(Date.now());
    t = await startServer({ config: { throttle: { identityRatePerSecond: 2, identityBurst: 3 } }, clock });
    const { poolId, identityId } = await poolWithIdentity(t);
    const { sync } = clients(t);
    await listRecords(sync, poolId, identityId);
    clock.advance(-10_000);
    await listRecords(sync, poolId, identityId);
    await listRecords(sync, poolId, identityId);
    await expectError(listRecords(sync, poolId, identityId), 'TooManyRequestsException', 429);
    clock.advance(500);
    await expect(listRecords(sync, poolId, identityId)).resolves.toMatchObject({ DatasetExists: false });
  });
});

describe('per-pool bucket', () => {
  it('counts every identity of the pool together; another pool is unaffected; a refill allows it again', async () => {
    const clock = manualClock(Date.now());
    t = await startServer({ config: { throttle: { poolRatePerSecond: 2, poolBurst: 4 } }, clock });
    const a = await poolWithIdentity(t, 'pool_a');
    const second = await secondIdentity(t, a.poolId);
    const b = await poolWithIdentity(t, 'pool_b');
    clock.advance(60_000); // GetId took pool tokens too; start full
    const { sync } = clients(t);

    await listRecords(sync, a.poolId, a.identityId);
    await listRecords(sync, a.poolId, second);
    await listRecords(sync, a.poolId, a.identityId);
    await listRecords(sync, a.poolId, second);
    await expectError(listRecords(sync, a.poolId, a.identityId), 'TooManyRequestsException', 429, 'Rate exceeded');
    await expectError(listRecords(sync, a.poolId, second), 'TooManyRequestsException', 429);
    // Unsigned calls draw from a bucket of their own: a device can still get its identity.
    await expect(clients(t).identity.send(new GetIdCommand({ IdentityPoolId: a.poolId }))).resolves.toBeDefined();

    await expect(listRecords(sync, b.poolId, b.identityId)).resolves.toMatchObject({ DatasetExists: false });

    clock.advance(500);
    await expect(listRecords(sync, a.poolId, second)).resolves.toMatchObject({ DatasetExists: false });
    await expectError(listRecords(sync, a.poolId, a.identityId), 'TooManyRequestsException', 429);
  });
});

describe('calls naming no pool', () => {
  it('signed ones draw from one bucket for the server, as AWS\'s quotas are per account; unsigned ones from none', async () => {
    const clock = manualClock(Date.now());
    t = await startServer({ config: { throttle: { poolRatePerSecond: 2, poolBurst: 3 } }, clock });
    const a = await poolWithIdentity(t, 'pool_a');
    clock.advance(60_000);
    const { identity, sync } = clients(t);
    for (let i = 0; i < 3; i++) await identity.send(new ListIdentityPoolsCommand({ MaxResults: 5 }));
    await expectError(identity.send(new ListIdentityPoolsCommand({ MaxResults: 5 })), 'TooManyRequestsException', 400);
    await expectError(sync.send(new ListIdentityPoolUsageCommand({})), 'TooManyRequestsException', 429);
    // Unsigned calls naming only an identity: a flood of them, made-up identities included, holds up no one's
    // credential refresh.
    const madeUp = 'us-east-1:00000000-0000-0000-0000-000000000000';
    for (let i = 0; i < 10; i++) {
      await expectError(identity.send(new GetCredentialsForIdentityCommand({ IdentityId: madeUp })), 'ResourceNotFoundException', 400);
    }
    for (let i = 0; i < 5; i++) await identity.send(new GetOpenIdTokenCommand({ IdentityId: a.identityId }));
    await expect(identity.send(new GetCredentialsForIdentityCommand({ IdentityId: a.identityId }))).resolves.toBeDefined();
    // Neither touches a pool's own bucket.
    await expect(listRecords(sync, a.poolId, a.identityId)).resolves.toMatchObject({ DatasetExists: false });
    clock.advance(500);
    await expect(identity.send(new ListIdentityPoolsCommand({ MaxResults: 5 }))).resolves.toBeDefined();
  });
});
