/**
 * Authenticated identities from third-party OpenID Connect logins, through the v3 credential providers the way
 * apps use them (SPEC §14): the pool lists the provider as an IAM OIDC provider ARN, the operator maps the
 * provider name to an issuer and its accepted audiences (config.loginProviders), and the token verifies against
 * the issuer's published keys. A loopback issuer (test/helpers/oidc-issuer.ts) mints the tokens.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateIdentityPoolCommand, DescribeIdentityCommand, GetCredentialsForIdentityCommand, GetIdCommand,
  GetOpenIdTokenCommand, ListIdentitiesCommand, UnlinkIdentityCommand,
} from '@aws-sdk/client-cognito-identity';
import { ListDatasetsCommand } from '@aws-sdk/client-cognito-sync';
import { clients, type TestServer } from '../helpers/server.js';
import { oidcProviderArn, startLoginServer } from '../helpers/login-server.js';
import type { OidcIssuer } from '../helpers/oidc-issuer.js';
import {
  expectRefused, identityCredentials, identityJson, jwtClaims, poolCredentials, readRecords, syncClient, writeRecords,
} from './support.js';

const PROVIDER = 'login.test';
const SECOND = 'login.two';
const UNLISTED = 'login.unlisted';
const AUDIENCE = 'app-client';

let idp: OidcIssuer;
let t: TestServer;
let close: () => Promise<void>;
let poolId: string;
let users = 0;
const newUser = () => `user-${++users}`;

beforeAll(async () => {
  // UNLISTED is accepted by the server but listed by no pool.
  ({ idp, t, close } = await startLoginServer([PROVIDER, SECOND, UNLISTED], AUDIENCE));
  const pool = await clients(t).identity.send(new CreateIdentityPoolCommand({
    IdentityPoolName: 'logins_pool',
    AllowUnauthenticatedIdentities: false,
    OpenIdConnectProviderARNs: [oidcProviderArn(PROVIDER), oidcProviderArn(SECOND)],
  }));
  poolId = pool.IdentityPoolId ?? '';
});
afterAll(() => close());

const login = (sub: string, opts: Parameters<OidcIssuer['mint']>[1] = {}) => idp.mint({ sub, aud: AUDIENCE }, opts);

async function identityCount(): Promise<number> {
  const listed = await clients(t).identity.send(new ListIdentitiesCommand({ IdentityPoolId: poolId, MaxResults: 60 }));
  return listed.Identities?.length ?? 0;
}

describe('an app signing in with an OpenID Connect provider', () => {
  it('gets authenticated credentials from fromCognitoIdentityPool({ logins }) and syncs its own data', async () => {
    const user = newUser();
    const credentials = poolCredentials(t, poolId, { [PROVIDER]: await login(user) });
    const creds = await credentials();
    expect(creds.accessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(creds.identityId).toMatch(/^us-east-1:[0-9a-f-]{36}$/);
    const ref = { IdentityPoolId: poolId, IdentityId: creds.identityId, DatasetName: 'profile' };
    const sync = syncClient(t, credentials);
    const written = await writeRecords(sync, ref, { name: 'Ada' });
    expect(written.Records?.[0]).toMatchObject({ Key: 'name', Value: 'Ada', SyncCount: 1, LastModifiedBy: creds.identityId });
    expect((await readRecords(sync, ref)).values).toEqual({ name: 'Ada' });

    const described = await clients(t).identity.send(new DescribeIdentityCommand({ IdentityId: creds.identityId }));
    expect(described.Logins).toEqual([PROVIDER]);
  });

  it('gets the same identity, and its data, when the same user signs in again later with a new token', async () => {
    const user = newUser();
    const first = await poolCredentials(t, poolId, { [PROVIDER]: await login(user) })();
    await writeRecords(syncClient(t, poolCredentials(t, poolId, { [PROVIDER]: await login(user) })),
      { IdentityPoolId: poolId, IdentityId: first.identityId, DatasetName: 'notes' }, { n1: 'first device' });

    // Another device, a fresh token (issued later, other iat/exp) for the same subject.
    const laterToken = await login(user, { issuedAt: Math.floor(Date.now() / 1000) + 5 });
    const again = poolCredentials(t, poolId, { [PROVIDER]: laterToken });
    const second = await again();
    expect(second.identityId).toBe(first.identityId);
    expect(second.accessKeyId).not.toBe(first.accessKeyId);
    const ref = { IdentityPoolId: poolId, IdentityId: second.identityId, DatasetName: 'notes' };
    expect((await readRecords(syncClient(t, again), ref)).values).toEqual({ n1: 'first device' });

    // GetId alone answers it too; another user gets another identity.
    const { identity } = clients(t);
    expect((await identity.send(new GetIdCommand({ IdentityPoolId: poolId, Logins: { [PROVIDER]: await login(user) } }))).IdentityId)
      .toBe(first.identityId);
    const other = await poolCredentials(t, poolId, { [PROVIDER]: await login(newUser()) })();
    expect(other.identityId).not.toBe(first.identityId);
  });

  it('answers GetOpenIdToken with amr ["authenticated", <provider>] for the signed-in identity', async () => {
    const token = await login(newUser());
    const creds = await poolCredentials(t, poolId, { [PROVIDER]: token })();
    const out = await clients(t).identity.send(new GetOpenIdTokenCommand({ IdentityId: creds.identityId, Logins: { [PROVIDER]: token } }));
    expect(out.IdentityId).toBe(creds.identityId);
    expect(jwtClaims(out.Token ?? '')).toMatchObject({ sub: creds.identityId, aud: poolId, amr: ['authenticated', PROVIDER] });
  });
});

describe('login tokens that do not verify', () => {
  const badTokens: Array<[string, () => Promise<string>, RegExp]> = [
    ['signed with a key the issuer never published', () => idp.mint({ sub: 'mallory', aud: AUDIENCE }, { key: 'other' }), /signature/i],
    ['expired', () => login('late-user', { issuedAt: Math.floor(Date.now() / 1000) - 7200, expiresInSeconds: 600 }), /expired/i],
    ['minted for another app (foreign audience)', () => idp.mint({ sub: 'user-x', aud: 'another-app' }), /audience/i],
    ['unsigned (alg none)', () => idp.mint({ sub: 'mallory', aud: AUDIENCE }, { alg: 'none' }), /algorithm|malformed/i],
    ['HS256 keyed with the public key', () => idp.mint({ sub: 'mallory', aud: AUDIENCE }, { alg: 'HS256' }), /algorithm/i],
    ['not a JWT at all', async () => 'not-a-token', /malformed/i],
  ];

  for (const [what, make, reason] of badTokens) {
    it(`refuses a token ${what} with NotAuthorizedException, creating no identity`, async () => {
      const before = await identityCount();
      const token = await make();
      const err = await expectRefused(poolCredentials(t, poolId, { [PROVIDER]: token })(), 'NotAuthorizedException', 400, /^Invalid login token\./);
      expect(err.message).toMatch(reason);
      // As sent: HTTP 400 with `__type`, and the token is not echoed back.
      const raw = await identityJson(t, 'GetId', { IdentityPoolId: poolId, Logins: { [PROVIDER]: token } });
      expect(raw.status).toBe(400);
      expect(raw.json['__type']).toBe('NotAuthorizedException');
      expect(JSON.stringify(raw.json)).not.toContain(token);
      expect(await identityCount()).toBe(before);
    });
  }

  it('refuses a bad token presented for an existing identity (GetCredentialsForIdentity) without touching it', async () => {
    const user = newUser();
    const creds = await poolCredentials(t, poolId, { [PROVIDER]: await login(user) })();
    await expectRefused(identityCredentials(t, creds.identityId, { [PROVIDER]: await login(user, { key: 'other' }) })(),
      'NotAuthorizedException', 400, /^Invalid login token\./);
    const raw = await identityJson(t, 'GetCredentialsForIdentity', {
      IdentityId: creds.identityId, Logins: { [PROVIDER]: await idp.mint({ sub: user, aud: 'another-app' }) },
    });
    expect(raw).toMatchObject({ status: 400, json: { __type: 'NotAuthorizedException' } });
    // The real login still works.
    expect((await identityCredentials(t, creds.identityId, { [PROVIDER]: await login(user) })()).accessKeyId).toMatch(/^ASIA/);
  });

  it('refuses a provider the pool does not list, even when the server knows its issuer', async () => {
    const before = await identityCount();
    await expectRefused(poolCredentials(t, poolId, { [UNLISTED]: await login(newUser()) })(),
      'NotAuthorizedException', 400, /not configured for this identity pool/);
    await expectRefused(poolCredentials(t, poolId, { 'login.nowhere': await login(newUser()) })(),
      'NotAuthorizedException', 400, /not configured for this identity pool/);
    // One good login does not carry an unlisted one.
    await expectRefused(poolCredentials(t, poolId, { [PROVIDER]: await login(newUser()), [UNLISTED]: await login(newUser()) })(),
      'NotAuthorizedException', 400);
    expect(await identityCount()).toBe(before);
  });

  it('refuses guests in a pool that does not allow them', async () => {
    await expectRefused(poolCredentials(t, poolId)(), 'NotAuthorizedException', 400, /Unauthenticated access is not supported/);
  });
});

describe('an authenticated identity is usable only with one of its logins', () => {
  it('refuses GetCredentialsForIdentity without logins: "Logins don\'t match…"', async () => {
    const creds = await poolCredentials(t, poolId, { [PROVIDER]: await login(newUser()) })();
    await expectRefused(identityCredentials(t, creds.identityId)(), 'NotAuthorizedException', 400, /^Logins don't match\. /);
    const raw = await identityJson(t, 'GetCredentialsForIdentity', { IdentityId: creds.identityId, Logins: {} });
    expect(raw).toMatchObject({ status: 400, json: { __type: 'NotAuthorizedException', message: expect.stringMatching(/^Logins don't match/) } });
    await expectRefused(clients(t).identity.send(new GetOpenIdTokenCommand({ IdentityId: creds.identityId })),
      'NotAuthorizedException', 400, /^Logins don't match/);
  });

  it('refuses another user\'s valid login presented for it (no takeover, no link)', async () => {
    const owner = await poolCredentials(t, poolId, { [PROVIDER]: await login(newUser()) })();
    const intruder = newUser();
    await expectRefused(identityCredentials(t, owner.identityId, { [PROVIDER]: await login(intruder) })(),
      'NotAuthorizedException', 400, /^Logins don't match/);
    // The intruder's login stayed unlinked: it gets an identity of its own.
    const own = await poolCredentials(t, poolId, { [PROVIDER]: await login(intruder) })();
    expect(own.identityId).not.toBe(owner.identityId);
  });

  it('links a second provider presented with a current login, and refuses a second login of the same provider', async () => {
    const user = newUser();
    const first = await poolCredentials(t, poolId, { [PROVIDER]: await login(user) })();
    const both = { [PROVIDER]: await login(user), [SECOND]: await login(`${user}-two`) };
    expect((await clients(t).identity.send(new GetCredentialsForIdentityCommand({ IdentityId: first.identityId, Logins: both }))).IdentityId)
      .toBe(first.identityId);
    const described = await clients(t).identity.send(new DescribeIdentityCommand({ IdentityId: first.identityId }));
    expect([...(described.Logins ?? [])].sort()).toEqual([PROVIDER, SECOND]);
    // The second provider alone now reaches the identity too.
    expect((await poolCredentials(t, poolId, { [SECOND]: await login(`${user}-two`) })()).identityId).toBe(first.identityId);
    // Another subject of an already linked provider: ResourceConflictException (one login per provider).
    await expectRefused(clients(t).identity.send(new GetCredentialsForIdentityCommand({
      IdentityId: first.identityId, Logins: { [PROVIDER]: await login(`${user}-alt`), [SECOND]: await login(`${user}-two`) },
    })), 'ResourceConflictException', 400);
  });

  it('unlinks one login with UnlinkIdentity; the unlinked user gets a new identity, the other login keeps this one', async () => {
    const user = newUser();
    const { identityId } = await poolCredentials(t, poolId, { [PROVIDER]: await login(user) })();
    await clients(t).identity.send(new GetCredentialsForIdentityCommand({
      IdentityId: identityId, Logins: { [PROVIDER]: await login(user), [SECOND]: await login(`${user}-two`) },
    }));
    // Proving ownership takes a current login of the identity.
    await expectRefused(clients(t).identity.send(new UnlinkIdentityCommand({
      IdentityId: identityId, Logins: { [PROVIDER]: await login(newUser()) }, LoginsToRemove: [SECOND],
    })), 'NotAuthorizedException', 400, /^Logins don't match/);
    await clients(t).identity.send(new UnlinkIdentityCommand({
      IdentityId: identityId, Logins: { [PROVIDER]: await login(user) }, LoginsToRemove: [SECOND],
    }));
    expect((await clients(t).identity.send(new DescribeIdentityCommand({ IdentityId: identityId }))).Logins).toEqual([PROVIDER]);
    expect((await poolCredentials(t, poolId, { [PROVIDER]: await login(user) })()).identityId).toBe(identityId);
    const moved = await poolCredentials(t, poolId, { [SECOND]: await login(`${user}-two`) })();
    expect(moved.identityId).not.toBe(identityId);

    // Removing the last login makes the identity inaccessible (disabled, kept).
    const sync = syncClient(t, identityCredentials(t, identityId, { [PROVIDER]: await login(user) }));
    await sync.send(new ListDatasetsCommand({ IdentityPoolId: poolId, IdentityId: identityId }));
    await clients(t).identity.send(new UnlinkIdentityCommand({
      IdentityId: identityId, Logins: { [PROVIDER]: await login(user) }, LoginsToRemove: [PROVIDER],
    }));
    await expectRefused(sync.send(new ListDatasetsCommand({ IdentityPoolId: poolId, IdentityId: identityId })),
      'UnrecognizedClientException', 403);
    const fresh = await poolCredentials(t, poolId, { [PROVIDER]: await login(user) })();
    expect(fresh.identityId).not.toBe(identityId);
    const described = await clients(t).identity.send(new DescribeIdentityCommand({ IdentityId: identityId }));
    expect(described.IdentityId).toBe(identityId);
    expect(described.Logins ?? []).toEqual([]);
  });
});
