import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromCognitoIdentityPool } from '@aws-sdk/credential-provider-cognito-identity';
import { CognitoSyncClient, ListRecordsCommand, UpdateRecordsCommand } from '@aws-sdk/client-cognito-sync';
import { clients, poolWithIdentity, startServer, type TestServer } from '../helpers/server.js';

let t: TestServer;
let poolId: string;

beforeAll(async () => {
  t = await startServer();
  ({ poolId } = await poolWithIdentity(t, 'guest_pool'));
});
afterAll(() => t.close());

describe('an unmodified app as a guest', () => {
  it('gets credentials with fromCognitoIdentityPool and syncs its own data with CognitoSyncClient', async () => {
    const credentials = fromCognitoIdentityPool({ clientConfig: { endpoint: t.endpoint, region: t.region }, identityPoolId: poolId });
    const sync = new CognitoSyncClient({ endpoint: t.endpoint, region: t.region, credentials });
    const creds = await credentials();
    expect(creds.accessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(creds.expiration!.getTime()).toBeGreaterThan(Date.now() + 50 * 60_000);
    const identityId = (creds as { identityId?: string }).identityId ?? '';
    expect(identityId).toMatch(/^us-east-1:/);
    const ref = { IdentityPoolId: poolId, IdentityId: identityId, DatasetName: 'settings' };
    const listed = await sync.send(new ListRecordsCommand(ref));
    const written = await sync.send(new UpdateRecordsCommand({
      ...ref, SyncSessionToken: listed.SyncSessionToken, RecordPatches: [{ Op: 'replace', Key: 'theme', Value: 'dark', SyncCount: 0 }],
    }));
    expect(written.Records?.[0]).toMatchObject({ Key: 'theme', SyncCount: 1, LastModifiedBy: identityId });
    // The developer sees what the guest wrote.
    const seen = await clients(t).sync.send(new ListRecordsCommand(ref));
    expect(seen.Records?.map((r) => r.Value)).toEqual(['dark']);
  });
});
