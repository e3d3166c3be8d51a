/**
 * Developer-authenticated identities (SPEC §14): the app's backend, holding developer credentials, calls
 * GetOpenIdTokenForDeveloperIdentity for its own user; the app presents the token as the
 * `cognito-identity.amazonaws.com` login to get credentials and sync. Also: the tokens verify for third parties
 * through the published discovery document and JWKS; LookupDeveloperIdentity, UnlinkDeveloperIdentity,
 * UnlinkIdentity, GetOpenIdToken for guests, pool roles, and DeleteIdentities revoking credentials at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import {
  CreateIdentityPoolCommand, DeleteIdentitiesCommand, DescribeIdentityCommand, GetCredentialsForIdentityCommand, GetIdCommand,
  GetIdentityPoolRolesCommand,
  GetOpenIdTokenCommand, GetOpenIdTokenForDeveloperIdentityCommand, LookupDeveloperIdentityCommand, MergeDeveloperIdentitiesCommand,
  SetIdentityPoolRolesCommand,
  UnlinkDeveloperIdentityCommand, UnlinkIdentityCommand,
} from '@aws-sdk/client-cognito-identity';
import { ListDatasetsCommand, ListRecordsCommand } from '@aws-sdk/client-cognito-sync';
import { clients, manualClock, startServer, type TestServer } from '../helpers/server.js';
import {
  expectRefused, identityCredentials, identityJson, jwtClaims, poolCredentials, readRecords, staticCredentials, syncClient, writeRecords,
} from './support.js';

const DEVELOPER = 'login.myapp';
const COGNITO = 'cognito-identity.amazonaws.com';

let t: TestServer;
let poolId: string;
let otherPoolId: string;
let users = 0;
const newUser = () => `dev-user-${++users}`;

beforeAll(async () => {
  t = await startServer();
  const { identity } = clients(t);
  poolId = (await identity.send(new CreateIdentityPoolCommand({
    IdentityPoolName: 'developer_pool', AllowUnauthenticatedIdentities: true, DeveloperProviderName: DEVELOPER,
  }))).IdentityPoolId ?? '';
  otherPoolId = (await identity.send(new CreateIdentityPoolCommand({
    IdentityPoolName: 'other_developer_pool', AllowUnauthenticatedIdentities: true, DeveloperProviderName: DEVELOPER,
  }))).IdentityPoolId ?? '';
});
afterAll(() => t.close());

/** What the app's backend does for a signed-in user. */
async function developerToken(userId: string, extra: { TokenDuration?: number; IdentityId?: string; pool?: string } = {}) {
  const out = await clients(t).identity.send(new GetOpenIdTokenForDeveloperIdentityCommand({
    IdentityPoolId: extra.pool ?? poolId, Logins: { [DEVELOPER]: userId },
    ...(extra.TokenDuration !== undefined ? { TokenDuration: extra.TokenDuration } : {}),
    ...(extra.IdentityId !== undefined ? { IdentityId: extra.IdentityId } : {}),
  }));
  return { identityId: out.IdentityId ?? '', token: out.Token ?? '' };
}

describe('the developer-authenticated flow', () => {
  it('backend gets IdentityId + Token; the app turns the token into credentials with fromCognitoIdentity and syncs', async () => {
    const user = newUser();
    const { identityId, token } = await developerToken(user, { TokenDuration: 3600 });
    expect(identityId).toMatch(/^us-east-1:[0-9a-f-]{36}$/);
    expect(token.split('.')).toHaveLength(3);

    const credentials = identityCredentials(t, identityId, { [COGNITO]: token });
    const creds = await credentials();
    expect(creds.accessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    const sync = syncClient(t, credentials);
    const ref = { IdentityPoolId: poolId, IdentityId: identityId, DatasetName: 'game' };
    const written = await writeRecords(sync, ref, { level: '4' });
    expect(written.Records?.[0]).toMatchObject({ Key: 'level', SyncCount: 1, LastModifiedBy: identityId });
    expect((await readRecords(sync, ref)).values).toEqual({ level: '4' });

    // The same user again: the same identity, the same data.
    const again = await developerToken(user);
    expect(again.identityId).toBe(identityId);
    expect((await readRecords(syncClient(t, identityCredentials(t, identityId, { [COGNITO]: again.token })), ref)).values)
      .toEqual({ level: '4' });
    const described = await clients(t).identity.send(new DescribeIdentityCommand({ IdentityId: identityId }));
    expect(described.Logins).toEqual([DEVELOPER]);
  });

  it('issues a token that verifies with jose through /.well-known/openid-configuration → jwks_uri', async () => {
    const { identityId, token } = await developerToken(newUser(), { TokenDuration: 120 });
    const discovery = await fetch(`${t.endpoint}/.well-known/openid-configuration`);
    expect(discovery.status).toBe(200);
    const doc = (await discovery.json()) as { issuer: string; jwks_uri: string; id_token_signing_alg_values_supported: string[] };
    expect(doc.issuer).toBe(t.endpoint.replace(/\/+$/, ''));
    expect(doc.id_token_signing_alg_values_supported).toContain('ES256');

    const { payload, protectedHeader } = await jwtVerify(token, createRemoteJWKSet(new URL(doc.jwks_uri)), {
      issuer: doc.issuer, audience: poolId, algorithms: ['ES256'],
    });
    expect(protectedHeader.alg).toBe('ES256');
    expect(payload.sub).toBe(identityId);
    expect(payload.aud).toBe(poolId);
    expect(payload['amr']).toEqual(['authenticated', DEVELOPER]);
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(120);
    // The default lifetime is 15 minutes.
    const defaults = jwtClaims((await developerToken(newUser())).token);
    expect(Number(defaults['exp']) - Number(defaults['iat'])).toBe(900);
  });

  it('refuses the developer provider presented directly as a login: only developer credentials vouch for it', async () => {
    const user = newUser();
    const { identityId } = await developerToken(user);
    const raw = await identityJson(t, 'GetCredentialsForIdentity', { IdentityId: identityId, Logins: { [DEVELOPER]: user } });
    expect(raw).toMatchObject({ status: 400, json: { __type: 'NotAuthorizedException' } });
    await expectRefused(poolCredentials(t, poolId, { [DEVELOPER]: user })(), 'NotAuthorizedException', 400);
    // Without any login the authenticated identity is refused too.
    await expectRefused(identityCredentials(t, identityId)(), 'NotAuthorizedException', 400, /^Logins don't match/);
  });

  it('refuses a token of one identity presented for another, and a token of another pool', async () => {
    const userB = newUser();
    const a = await developerToken(newUser());
    const b = await developerToken(userB);
    // A's token presented for B's ID is not one of B's logins: refused, and nothing is merged.
    const answered = await identityJson(t, 'GetCredentialsForIdentity', { IdentityId: b.identityId, Logins: { [COGNITO]: a.token } });
    expect(answered).toMatchObject({ status: 400, json: { __type: 'NotAuthorizedException', message: expect.stringMatching(/^Logins don't match/) } });
    const lookedUp = await clients(t).identity.send(new LookupDeveloperIdentityCommand({ IdentityPoolId: poolId, IdentityId: b.identityId }));
    expect(lookedUp.DeveloperUserIdentifierList).toEqual([userB]);
    expect((await developerToken(userB)).identityId).toBe(b.identityId);
    const foreign = await developerToken(newUser(), { pool: otherPoolId });
    await expectRefused(identityCredentials(t, b.identityId, { [COGNITO]: foreign.token })(), 'NotAuthorizedException', 400, /audience/);
    // One character of the signature changed, well before its end: the last ones may carry only padding bits, and
    // a token ending in "AA" already would not change at all.
    const at = b.token.length - 10;
    const tampered = `${b.token.slice(0, at)}${b.token[at] === 'A' ? 'B' : 'A'}${b.token.slice(at + 1)}`;
    await expectRefused(identityCredentials(t, b.identityId, { [COGNITO]: tampered })(), 'NotAuthorizedException', 400);
  });

  it('refuses an expired developer token (manual clock), while an unexpired one works', async () => {
    const clock = manualClock(Date.now());
    const s = await startServer({ clock });
    try {
      const { identity } = clients(s);
      const pool = (await identity.send(new CreateIdentityPoolCommand({
        IdentityPoolName: 'expiry_pool', AllowUnauthenticatedIdentities: false, DeveloperProviderName: DEVELOPER,
      }))).IdentityPoolId ?? '';
      const out = await identity.send(new GetOpenIdTokenForDeveloperIdentityCommand({ IdentityPoolId: pool, Logins: { [DEVELOPER]: 'u' }, TokenDuration: 60 }));
      const creds = () => identityCredentials(s, out.IdentityId ?? '', { [COGNITO]: out.Token ?? '' })();
      clock.advance(59_000);
      expect((await creds()).accessKeyId).toMatch(/^ASIA/);
      clock.advance(2_000);
      await expectRefused(creds(), 'NotAuthorizedException', 400, /^Invalid login token\. Token is expired\.$/);
    } finally {
      await s.close();
    }
  });
});

describe('LookupDeveloperIdentity, DeveloperUserAlreadyRegisteredException and UnlinkDeveloperIdentity', () => {
  it('looks up a user\'s identity, and an identity\'s users', async () => {
    const user = newUser();
    const { identityId } = await developerToken(user);
    const { identity } = clients(t);
    const byUser = await identity.send(new LookupDeveloperIdentityCommand({ IdentityPoolId: poolId, DeveloperUserIdentifier: user }));
    expect(byUser).toMatchObject({ IdentityId: identityId, DeveloperUserIdentifierList: [user] });
    const byId = await identity.send(new LookupDeveloperIdentityCommand({ IdentityPoolId: poolId, IdentityId: identityId, MaxResults: 10 }));
    expect(byId).toMatchObject({ IdentityId: identityId, DeveloperUserIdentifierList: [user] });
    await expectRefused(identity.send(new LookupDeveloperIdentityCommand({ IdentityPoolId: poolId, DeveloperUserIdentifier: 'never-seen' })),
      'ResourceNotFoundException', 400);
    await expectRefused(identity.send(new LookupDeveloperIdentityCommand({ IdentityPoolId: otherPoolId, DeveloperUserIdentifier: user })),
      'ResourceNotFoundException', 400);
  });

  it('pages an identity\'s users one at a time without skipping any, characters beyond U+FFFF included', async () => {
    const names = ['plain', '\uff01fullwidth', '\u{1F600}emoji', 'z-last', '\u00e9t\u00e9'].map((n) => `${n}-${newUser()}`);
    const { identityId } = await developerToken(names[0]!);
    for (const name of names.slice(1)) await developerToken(name, { IdentityId: identityId });
    const { identity } = clients(t);
    const seen: string[] = [];
    let NextToken: string | undefined;
    do {
      const page = await identity.send(new LookupDeveloperIdentityCommand({ IdentityPoolId: poolId, IdentityId: identityId, MaxResults: 1, NextToken }));
      seen.push(...(page.DeveloperUserIdentifierList ?? []));
      NextToken = page.NextToken;
    } while (NextToken !== undefined && seen.length <= names.length);
    expect(seen).toHaveLength(names.length);
    expect([...seen].sort()).toEqual([...names].sort());
  });

  it('registers developer user identifiers of up to 1,024 characters, the length Lookup, Unlink and Merge take', async () => {
    const longest = `${newUser()}-`.padEnd(1024, 'x');
    const { identityId } = await developerToken(longest);
    const looked = await clients(t).identity.send(new LookupDeveloperIdentityCommand({ IdentityPoolId: poolId, DeveloperUserIdentifier: longest }));
    expect(looked.IdentityId).toBe(identityId);
    await expectRefused(developerToken(`${longest}x`), 'InvalidParameterException', 400, /less than or equal to 1024/);
  });

  it('refuses a developer user identifier holding U+0000 (PostgreSQL cannot store it), and finds none by it', async () => {
    await expectRefused(developerToken(`${newUser()}\u0000`), 'InvalidParameterException', 400, /must not contain U\+0000/);
    await expectRefused(clients(t).identity.send(new LookupDeveloperIdentityCommand({
      IdentityPoolId: poolId, DeveloperUserIdentifier: 'nobody\u0000',
    })), 'ResourceNotFoundException', 400);
  });

  it('answers ResourceConflictException when IdentityId and DeveloperUserIdentifier do not belong together', async () => {
    const user = newUser();
    const { identityId } = await developerToken(user);
    const other = await developerToken(newUser());
    const { identity } = clients(t);
    const both = await identity.send(new LookupDeveloperIdentityCommand({ IdentityPoolId: poolId, IdentityId: identityId, DeveloperUserIdentifier: user }));
    expect(both).toMatchObject({ IdentityId: identityId, DeveloperUserIdentifierList: [user] });
    await expectRefused(identity.send(new LookupDeveloperIdentityCommand({
      IdentityPoolId: poolId, IdentityId: other.identityId, DeveloperUserIdentifier: user,
    })), 'ResourceConflictException', 400, /is not linked to identity/);
    // Either one not there at all is not found, as when given alone.
    await expectRefused(identity.send(new LookupDeveloperIdentityCommand({
      IdentityPoolId: poolId, IdentityId: identityId, DeveloperUserIdentifier: 'never-seen',
    })), 'ResourceNotFoundException', 400, /Developer user 'never-seen' not found/);
    await expectRefused(identity.send(new LookupDeveloperIdentityCommand({
      IdentityPoolId: poolId, IdentityId: 'us-east-1:00000000-0000-0000-0000-000000000000', DeveloperUserIdentifier: user,
    })), 'ResourceNotFoundException', 400, /^Identity '/);
  });

  it('links a second developer user to a given identity, and refuses a user registered under another identity', async () => {
    const first = newUser();
    const second = newUser();
    const a = await developerToken(first);
    const linked = await developerToken(second, { IdentityId: a.identityId });
    expect(linked.identityId).toBe(a.identityId);
    const users = await clients(t).identity.send(new LookupDeveloperIdentityCommand({ IdentityPoolId: poolId, IdentityId: a.identityId }));
    expect([...(users.DeveloperUserIdentifierList ?? [])].sort()).toEqual([first, second].sort());

    const b = await developerToken(newUser());
    await expectRefused(developerToken(first, { IdentityId: b.identityId }), 'DeveloperUserAlreadyRegisteredException', 400);
    // Nothing moved.
    expect((await developerToken(first)).identityId).toBe(a.identityId);
  });

  it('links at most 20 logins to an identity, merges included', async () => {
    const { identityId } = await developerToken(newUser());
    for (let i = 1; i < 20; i++) await developerToken(newUser(), { IdentityId: identityId });
    await expectRefused(developerToken(newUser(), { IdentityId: identityId }), 'ResourceConflictException', 400,
      /limited to 20/);
    const lone = newUser();
    const other = await developerToken(lone);
    const anyOfTwenty = (await clients(t).identity.send(new LookupDeveloperIdentityCommand({
      IdentityPoolId: poolId, IdentityId: identityId, MaxResults: 1,
    }))).DeveloperUserIdentifierList?.[0] ?? '';
    await expectRefused(clients(t).identity.send(new MergeDeveloperIdentitiesCommand({
      IdentityPoolId: poolId, DeveloperProviderName: DEVELOPER, SourceUserIdentifier: lone, DestinationUserIdentifier: anyOfTwenty,
    })), 'ResourceConflictException', 400, /limited to 20/);
    // Nothing moved.
    expect((await developerToken(lone)).identityId).toBe(other.identityId);
  });

  it('unlinks a developer user: the identity keeps its data, the user gets a new identity next time', async () => {
    const user = newUser();
    const other = newUser();
    const { identityId, token } = await developerToken(user);
    await developerToken(other, { IdentityId: identityId });
    await writeRecords(syncClient(t, identityCredentials(t, identityId, { [COGNITO]: token })),
      { IdentityPoolId: poolId, IdentityId: identityId, DatasetName: 'kept' }, { k: 'v' });
    const { identity, sync } = clients(t);
    await identity.send(new UnlinkDeveloperIdentityCommand({
      IdentityPoolId: poolId, IdentityId: identityId, DeveloperProviderName: DEVELOPER, DeveloperUserIdentifier: user,
    }));
    await expectRefused(identity.send(new UnlinkDeveloperIdentityCommand({
      IdentityPoolId: poolId, IdentityId: identityId, DeveloperProviderName: DEVELOPER, DeveloperUserIdentifier: user,
    })), 'ResourceNotFoundException', 400);
    // Another pool with the same developer provider name has no say over this pool's identities.
    await expectRefused(identity.send(new UnlinkDeveloperIdentityCommand({
      IdentityPoolId: otherPoolId, IdentityId: identityId, DeveloperProviderName: DEVELOPER, DeveloperUserIdentifier: other,
    })), 'ResourceNotFoundException', 400, /^Identity '.*' not found/);
    const next = await developerToken(user);
    expect(next.identityId).not.toBe(identityId);
    // Another login remains: the identity and its data stay usable.
    const kept = await sync.send(new ListRecordsCommand({ IdentityPoolId: poolId, IdentityId: identityId, DatasetName: 'kept' }));
    expect(kept.Records?.map((r) => r.Value)).toEqual(['v']);
    expect((await readRecords(syncClient(t, identityCredentials(t, next.identityId, { [COGNITO]: next.token })),
      { IdentityPoolId: poolId, IdentityId: next.identityId, DatasetName: 'kept' })).values).toEqual({});
    expect((await identity.send(new GetOpenIdTokenCommand({ IdentityId: identityId, Logins: { [COGNITO]: token } }))).IdentityId)
      .toBe(identityId);
    // Its last login gone, it is inaccessible (the model's words), not a guest anyone knowing its ID could take up.
    await identity.send(new UnlinkDeveloperIdentityCommand({
      IdentityPoolId: poolId, IdentityId: identityId, DeveloperProviderName: DEVELOPER, DeveloperUserIdentifier: other,
    }));
    await expectRefused(identity.send(new GetCredentialsForIdentityCommand({ IdentityId: identityId })), 'NotAuthorizedException', 400);
    await expectRefused(identity.send(new GetOpenIdTokenCommand({ IdentityId: identityId })), 'NotAuthorizedException', 400);
  });
});

describe('GetOpenIdToken and UnlinkIdentity', () => {
  it('gives a guest an OpenID token with amr ["unauthenticated"]', async () => {
    const { identity } = clients(t);
    const { IdentityId = '' } = await identity.send(new GetIdCommand({ IdentityPoolId: poolId }));
    const out = await identity.send(new GetOpenIdTokenCommand({ IdentityId }));
    expect(out.IdentityId).toBe(IdentityId);
    const doc = (await (await fetch(`${t.endpoint}/.well-known/openid-configuration`)).json()) as { issuer: string; jwks_uri: string };
    const { payload } = await jwtVerify(out.Token ?? '', createRemoteJWKSet(new URL(doc.jwks_uri)), { issuer: doc.issuer, audience: poolId });
    expect(payload).toMatchObject({ sub: IdentityId, aud: poolId, amr: ['unauthenticated'] });
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(600);
    // A guest's own token is a valid login for itself.
    const creds = await identityCredentials(t, IdentityId, { [COGNITO]: out.Token ?? '' })();
    expect(creds.accessKeyId).toMatch(/^ASIA/);
  });

  it('answers GetOpenIdToken for a developer identity presenting its token, with amr naming the developer provider', async () => {
    const { identityId, token } = await developerToken(newUser());
    const out = await clients(t).identity.send(new GetOpenIdTokenCommand({ IdentityId: identityId, Logins: { [COGNITO]: token } }));
    expect(out.IdentityId).toBe(identityId);
    expect(jwtClaims(out.Token ?? '')).toMatchObject({ sub: identityId, aud: poolId, amr: ['authenticated', DEVELOPER] });
  });

  it('unlinks the developer login with proof of ownership; the identity, left without logins, is disabled', async () => {
    const user = newUser();
    const { identityId, token } = await developerToken(user);
    const staticCreds = await staticCredentials(identityCredentials(t, identityId, { [COGNITO]: token }));
    const sync = syncClient(t, staticCreds);
    await sync.send(new ListDatasetsCommand({ IdentityPoolId: poolId, IdentityId: identityId }));
    const { identity } = clients(t);
    // Another identity's token proves nothing.
    const stranger = await developerToken(newUser());
    await expectRefused(identity.send(new UnlinkIdentityCommand({
      IdentityId: identityId, Logins: { [COGNITO]: stranger.token }, LoginsToRemove: [DEVELOPER],
    })), 'NotAuthorizedException', 400, /^Logins don't match/);

    // UnlinkIdentity is public: sent unsigned, as apps send it.
    const raw = await identityJson(t, 'UnlinkIdentity', { IdentityId: identityId, Logins: { [COGNITO]: token }, LoginsToRemove: [DEVELOPER] });
    expect(raw.status).toBe(200);
    await expectRefused(sync.send(new ListDatasetsCommand({ IdentityPoolId: poolId, IdentityId: identityId })), 'UnrecognizedClientException', 403);
    expect((await identity.send(new DescribeIdentityCommand({ IdentityId: identityId }))).Logins ?? []).toEqual([]);
    expect((await developerToken(user)).identityId).not.toBe(identityId);
  });

  it('disables an identity only when the call removed its last login: a guest naming a provider it lacks stays usable', async () => {
    const { identity } = clients(t);
    const { IdentityId = '' } = await identity.send(new GetIdCommand({ IdentityPoolId: poolId }));
    const { Token = '' } = await identity.send(new GetOpenIdTokenCommand({ IdentityId }));
    const raw = await identityJson(t, 'UnlinkIdentity', {
      IdentityId, Logins: { [COGNITO]: Token }, LoginsToRemove: ['graph.facebook.com'],
    });
    expect(raw.status).toBe(200);
    expect((await identity.send(new GetCredentialsForIdentityCommand({ IdentityId }))).IdentityId).toBe(IdentityId);
  });
});

describe('pool roles and DeleteIdentities', () => {
  it('round-trips SetIdentityPoolRoles / GetIdentityPoolRoles', async () => {
    const { identity } = clients(t);
    expect((await identity.send(new GetIdentityPoolRolesCommand({ IdentityPoolId: poolId }))).Roles ?? {}).toEqual({});
    const roles = {
      authenticated: 'arn:aws:iam::123456789012:role/Cognito_Auth_Role',
      unauthenticated: 'arn:aws:iam::123456789012:role/Cognito_Unauth_Role',
    };
    const roleMappings = {
      [DEVELOPER]: { Type: 'Token' as const, AmbiguousRoleResolution: 'AuthenticatedRole' as const },
    };
    await identity.send(new SetIdentityPoolRolesCommand({ IdentityPoolId: poolId, Roles: roles, RoleMappings: roleMappings }));
    const got = await identity.send(new GetIdentityPoolRolesCommand({ IdentityPoolId: poolId }));
    expect(got).toMatchObject({ IdentityPoolId: poolId, Roles: roles, RoleMappings: roleMappings });
    await identity.send(new SetIdentityPoolRolesCommand({ IdentityPoolId: poolId, Roles: { authenticated: roles.authenticated } }));
    const replaced = await identity.send(new GetIdentityPoolRolesCommand({ IdentityPoolId: poolId }));
    expect(replaced.Roles).toEqual({ authenticated: roles.authenticated });
    expect(replaced.RoleMappings ?? {}).toEqual({});
    await expectRefused(identity.send(new GetIdentityPoolRolesCommand({ IdentityPoolId: 'us-east-1:00000000-0000-0000-0000-000000000000' })),
      'ResourceNotFoundException', 400);
  });

  it('refuses role mappings missing what the model requires, or with more than 25 rules', async () => {
    const { identity } = clients(t);
    const rule = { Claim: 'isAdmin', MatchType: 'Equals' as const, Value: 'yes', RoleARN: 'arn:aws:iam::123456789012:role/Admin' };
    const set = (mapping: object) => identity.send(new SetIdentityPoolRolesCommand({
      IdentityPoolId: poolId, Roles: {}, RoleMappings: { [DEVELOPER]: mapping as never },
    }));
    await expectRefused(set({ Type: 'Token' }), 'InvalidParameterException', 400, /AmbiguousRoleResolution is required/);
    await expectRefused(set({ Type: 'Rules', AmbiguousRoleResolution: 'Deny' }), 'InvalidParameterException', 400,
      /RulesConfiguration is required/);
    const rules = (n: number) => ({ Type: 'Rules', AmbiguousRoleResolution: 'Deny', RulesConfiguration: { Rules: Array(n).fill(rule) } });
    await expectRefused(set(rules(26)), 'InvalidParameterException', 400, /26 rules; at most 25/);
    expect((await identity.send(new GetIdentityPoolRolesCommand({ IdentityPoolId: poolId }))).RoleMappings ?? {}).toEqual({});
    await set(rules(25));
    const stored = await identity.send(new GetIdentityPoolRolesCommand({ IdentityPoolId: poolId }));
    expect(stored.RoleMappings?.[DEVELOPER]?.RulesConfiguration?.Rules).toHaveLength(25);
  });

  it('revokes credentials already issued at once when their identity is deleted', async () => {
    const { identityId, token } = await developerToken(newUser());
    const sync = syncClient(t, await staticCredentials(identityCredentials(t, identityId, { [COGNITO]: token })));
    const ref = { IdentityPoolId: poolId, IdentityId: identityId, DatasetName: 'doomed' };
    await writeRecords(sync, ref, { k: 'v' });
    const guest = await poolCredentials(t, poolId)();
    const guestSync = syncClient(t, { accessKeyId: guest.accessKeyId, secretAccessKey: guest.secretAccessKey, sessionToken: guest.sessionToken ?? '' });
    await guestSync.send(new ListDatasetsCommand({ IdentityPoolId: poolId, IdentityId: guest.identityId }));

    const out = await clients(t).identity.send(new DeleteIdentitiesCommand({ IdentityIdsToDelete: [identityId, guest.identityId] }));
    expect(out.UnprocessedIdentityIds ?? []).toEqual([]);
    await expectRefused(sync.send(new ListRecordsCommand(ref)), 'UnrecognizedClientException', 403);
    await expectRefused(guestSync.send(new ListDatasetsCommand({ IdentityPoolId: poolId, IdentityId: guest.identityId })), 'UnrecognizedClientException', 403);
    // The identity, its login and its data are gone: the developer token no longer resolves and the user starts afresh.
    await expectRefused(identityCredentials(t, identityId, { [COGNITO]: token })(), 'ResourceNotFoundException', 400);
    await expectRefused(clients(t).identity.send(new DescribeIdentityCommand({ IdentityId: identityId })), 'ResourceNotFoundException', 400);
    await expectRefused(clients(t).identity.send(new LookupDeveloperIdentityCommand({ IdentityPoolId: poolId, IdentityId: identityId })),
      'ResourceNotFoundException', 400);
  });
});
