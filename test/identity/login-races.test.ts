/**
 * Calls that link the same new login at the same moment (SPEC §5.7): whichever links it first, the other call ends
 * as it would had it come second. Each case runs several times, since the two calls interleave differently each
 * time; on PostgreSQL, where every store call is a round trip, they interleave most.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateIdentityPoolCommand, GetCredentialsForIdentityCommand, GetIdCommand, GetOpenIdTokenForDeveloperIdentityCommand,
} from '@aws-sdk/client-cognito-identity';
import { ListDatasetsCommand } from '@aws-sdk/client-cognito-sync';
import type { StorageConfig } from '../../src/config.js';
import { clients, type TestServer } from '../helpers/server.js';
import { oidcProviderArn, startLoginServer } from '../helpers/login-server.js';
import type { OidcIssuer } from '../helpers/oidc-issuer.js';
import { describeWithPostgres, sharedSchema } from '../storage/postgres-support.js';
import { poolCredentials, syncClient, writeRecords } from './support.js';

const PROVIDER = 'login.race';
const DEVELOPER = 'login.racedev';
const AUDIENCE = 'app';
const TRIALS = 8;

function loginRaces(storage: () => StorageConfig | undefined): void {
  let idp: OidcIssuer;
  let t: TestServer;
  let close: () => Promise<void>;
  let poolId: string;
  let devPoolId: string;
  let users = 0;

  beforeAll(async () => {
    const store = storage();
    ({ idp, t, close } = await startLoginServer([PROVIDER], AUDIENCE, store ? { storage: store } : {}));
    const { identity } = clients(t);
    poolId = (await identity.send(new CreateIdentityPoolCommand({
      IdentityPoolName: 'race_pool', AllowUnauthenticatedIdentities: true, OpenIdConnectProviderARNs: [oidcProviderArn(PROVIDER)],
    }))).IdentityPoolId ?? '';
    devPoolId = (await identity.send(new CreateIdentityPoolCommand({
      IdentityPoolName: 'race_dev_pool', AllowUnauthenticatedIdentities: true, DeveloperProviderName: DEVELOPER,
    }))).IdentityPoolId ?? '';
  });
  afterAll(() => close());

  /** A guest of `pool` with a dataset `save` written. */
  async function guestWithSave(pool: string): Promise<string> {
    const guest = poolCredentials(t, pool);
    const id = (await guest()).identityId;
    await writeRecords(syncClient(t, guest), { IdentityPoolId: pool, IdentityId: id, DatasetName: 'save' }, { progress: id });
    return id;
  }

  const datasetsOf = async (IdentityPoolId: string, IdentityId: string) =>
    (await clients(t).sync.send(new ListDatasetsCommand({ IdentityPoolId, IdentityId }))).Datasets?.map((d) => d.DatasetName).sort();

  it('two guests signing in to one new account at once: both get its identity, the other guest merged into it', async () => {
    for (let trial = 0; trial < TRIALS; trial++) {
      const guests = [await guestWithSave(poolId), await guestWithSave(poolId)];
      const token = await idp.mint({ sub: `race-user-${++users}`, aud: AUDIENCE });
      const answers = await Promise.all(guests.map(async (IdentityId) => (await clients(t).identity.send(
        new GetCredentialsForIdentityCommand({ IdentityId, Logins: { [PROVIDER]: token } }))).IdentityId));
      expect(answers[0], `trial ${trial}`).toBe(answers[1]);
      const other = guests.find((g) => g !== answers[0])!;
      expect(await datasetsOf(poolId, answers[0]!), `trial ${trial}`).toEqual(['save', `save.${other}`]);
      // Disabled, as a merged identity is: it no longer gets credentials as a guest.
      const asGuest = await clients(t).identity.send(new GetCredentialsForIdentityCommand({ IdentityId: other }))
        .then(() => 'usable', (e: Error) => e.name);
      expect(asGuest, `trial ${trial}`).toBe('NotAuthorizedException');
    }
  });

  it('two GetId calls with the same new login answer one identity', async () => {
    for (let trial = 0; trial < TRIALS; trial++) {
      const token = await idp.mint({ sub: `race-user-${++users}`, aud: AUDIENCE });
      const answers = await Promise.all([0, 1].map(async () => (await clients(t).identity.send(
        new GetIdCommand({ IdentityPoolId: poolId, Logins: { [PROVIDER]: token } }))).IdentityId));
      expect(answers[0], `trial ${trial}`).toBe(answers[1]);
    }
  });

  it('one developer user registered for two identities at once: one call answers DeveloperUserAlreadyRegistered', async () => {
    for (let trial = 0; trial < TRIALS; trial++) {
      const guests = [await guestWithSave(devPoolId), await guestWithSave(devPoolId)];
      const user = `dev-user-${++users}`;
      const outcomes = await Promise.all(guests.map((IdentityId) => clients(t).identity.send(
        new GetOpenIdTokenForDeveloperIdentityCommand({ IdentityPoolId: devPoolId, IdentityId, Logins: { [DEVELOPER]: user } }))
        .then((out) => out.IdentityId, (e: Error) => e.name)));
      const winner = outcomes.find((o) => guests.includes(o!));
      expect([...outcomes].sort(), `trial ${trial}`).toEqual([winner, 'DeveloperUserAlreadyRegisteredException'].sort());
      // Nothing was merged: the other guest keeps its identity and its data.
      expect(await datasetsOf(devPoolId, guests.find((g) => g !== winner)!), `trial ${trial}`).toEqual(['save']);
    }
  });
}

describe('login races on SQLite', () => loginRaces(() => undefined));

describeWithPostgres('login races on PostgreSQL', 'test/identity/login-races.test.ts', () => {
  const schema = sharedSchema('login_races');
  loginRaces(() => ({ engine: 'postgres', url: schema.url, poolSize: 10, statementTimeoutMs: 5000, connectTimeoutMs: 5000 }));
});
