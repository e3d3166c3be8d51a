import { beforeAll, describe, expect, it } from 'vitest';
import {
  CognitoIdentityClient, CreateIdentityPoolCommand, DeleteIdentityPoolCommand, DescribeIdentityCommand,
  DescribeIdentityPoolCommand, GetIdCommand, ListIdentitiesCommand, ListIdentityPoolsCommand, UpdateIdentityPoolCommand,
  type CreateIdentityPoolInput, type IdentityPoolShortDescription,
} from '@aws-sdk/client-cognito-identity';
import { clients, poolMaker, TEST_CREDENTIALS } from '../helpers/server.js';
import { sharedServer } from '../helpers/shared-server.js';
import { identityOperations } from '../../src/api/identity/index.js';
import { MAX_IDENTITY_POOLS } from '../../src/api/identity/operations/create-identity-pool.js';
import type { IdentityPool } from '../../src/storage/types.js';

/** Black-box tests of the Cognito Identity pool and identity operations, through the official v3 client. */

const t = sharedServer();
let identity: CognitoIdentityClient;

beforeAll(() => {
  identity = clients(t).identity;
});

const ID_PATTERN = /^us-east-1:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Runs `call` and checks that it fails with the given AWS error name, HTTP 400 and (part of) the message. */
async function expectError(call: Promise<unknown>, name: string, message?: string | RegExp) {
  const err = await call.then(
    () => { throw new Error(`expected ${name}, got success`); },
    (e: unknown) => e as { name: string; message: string; $metadata?: { httpStatusCode?: number } },
  );
  expect(err.name).toBe(name);
  expect(err.$metadata?.httpStatusCode).toBe(400);
  if (typeof message === 'string') expect(err.message).toContain(message);
  else if (message) expect(err.message).toMatch(message);
  return err;
}

const createPool = poolMaker('pool', () => identity);

const FULL_SETTINGS = {
  IdentityPoolName: 'Full pool, v1+2=3@example.com',
  AllowUnauthenticatedIdentities: true,
  AllowClassicFlow: true,
  SupportedLoginProviders: { 'graph.facebook.com': '1234567890', 'accounts.google.com': 'abc.apps.googleusercontent.com' },
  DeveloperProviderName: 'login.example_app-dev',
  OpenIdConnectProviderARNs: ['arn:aws:iam::123456789012:oidc-provider/example.com'],
  CognitoIdentityProviders: [
    { ProviderName: 'cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf123', ClientId: 'client1', ServerSideTokenCheck: true },
    { ProviderName: 'cognito-idp.us-east-1.amazonaws.com/us-east-1_Other', ClientId: 'client_2', ServerSideTokenCheck: false },
  ],
  SamlProviderARNs: ['arn:aws:iam::123456789012:saml-provider/corp'],
  IdentityPoolTags: { team: 'sync', env: 'test' },
} satisfies CreateIdentityPoolInput;

/** The SDK's output minus its $metadata. */
function body<T extends { $metadata: unknown }>(out: T): Omit<T, '$metadata'> {
  const { $metadata: _, ...rest } = out;
  return rest;
}

describe('registry', () => {
  it('registers each operation under its own name with the right credential class', () => {
    for (const [key, op] of Object.entries(identityOperations)) expect(op.name).toBe(key);
    expect(Object.keys(identityOperations).sort()).toEqual([
      'CreateIdentityPool', 'DeleteIdentities', 'DeleteIdentityPool', 'DescribeIdentity', 'DescribeIdentityPool',
      'GetCredentialsForIdentity', 'GetId', 'GetIdentityPoolRoles', 'GetOpenIdToken', 'GetOpenIdTokenForDeveloperIdentity',
      'GetPrincipalTagAttributeMap', 'ListIdentities', 'ListIdentityPools', 'ListTagsForResource', 'LookupDeveloperIdentity',
      'MergeDeveloperIdentities', 'SetIdentityPoolRoles', 'SetPrincipalTagAttributeMap', 'TagResource', 'UnlinkDeveloperIdentity',
      'UnlinkIdentity', 'UntagResource', 'UpdateIdentityPool',
    ]);
    // The operations the model marks unsigned ("public API") are exactly the public ones here.
    const unsigned = ['GetCredentialsForIdentity', 'GetId', 'GetOpenIdToken', 'UnlinkIdentity'];
    for (const op of Object.values(identityOperations)) expect(op.auth).toBe(unsigned.includes(op.name) ? 'public' : 'developer');
  });
});

describe('CreateIdentityPool / DescribeIdentityPool', () => {
  it('creates a minimal pool and answers only the members that are set', async () => {
    const out = await identity.send(new CreateIdentityPoolCommand({ IdentityPoolName: 'minimal', AllowUnauthenticatedIdentities: false }));
    expect(out.IdentityPoolId).toMatch(ID_PATTERN);
    expect(body(out)).toEqual({
      IdentityPoolId: out.IdentityPoolId, IdentityPoolName: 'minimal', AllowUnauthenticatedIdentities: false, AllowClassicFlow: false,
    });
    const described = await identity.send(new DescribeIdentityPoolCommand({ IdentityPoolId: out.IdentityPoolId }));
    expect(body(described)).toEqual(body(out));
  });

  it('round-trips every pool member through create and describe', async () => {
    const created = await identity.send(new CreateIdentityPoolCommand(FULL_SETTINGS));
    const expected = { IdentityPoolId: created.IdentityPoolId, ...FULL_SETTINGS };
    expect(body(created)).toEqual(expected);
    const described = await identity.send(new DescribeIdentityPoolCommand({ IdentityPoolId: created.IdentityPoolId }));
    expect(body(described)).toEqual(expected);
  });

  it('stores the creation time from the clock', async () => {
    const before = Date.now();
    const poolId = await createPool();
    const row = await t.services.store.getIdentityPool(poolId);
    expect(row?.createdAt).toBeGreaterThanOrEqual(before);
    expect(row?.createdAt).toBeLessThanOrEqual(Date.now());
  });

  it('answers ResourceNotFoundException for an unknown pool', async () => {
    const id = 'us-east-1:00000000-0000-0000-0000-000000000000';
    await expectError(identity.send(new DescribeIdentityPoolCommand({ IdentityPoolId: id })), 'ResourceNotFoundException',
      `IdentityPool '${id}' not found.`);
  });

  it('refuses a CognitoIdentityProviders entry without its ClientId', async () => {
    await expectError(createPool({ CognitoIdentityProviders: [{ ProviderName: 'cognito-idp.us-east-1.amazonaws.com/us-east-1_X' }] }),
      'InvalidParameterException', 'ClientId');
  });
});

describe('UpdateIdentityPool', () => {
  it('replaces the settings, keeps the creation time, and answers the new description', async () => {
    const created = await identity.send(new CreateIdentityPoolCommand(FULL_SETTINGS));
    const poolId = created.IdentityPoolId ?? '';
    const before = await t.services.store.getIdentityPool(poolId);
    const update = {
      IdentityPoolId: poolId, IdentityPoolName: 'renamed', AllowUnauthenticatedIdentities: false,
      DeveloperProviderName: FULL_SETTINGS.DeveloperProviderName,
      SupportedLoginProviders: { 'www.amazon.com': 'amzn1.application.x' }, IdentityPoolTags: { only: 'this' },
    };
    const out = await identity.send(new UpdateIdentityPoolCommand(update));
    expect(body(out)).toEqual({ ...update, AllowClassicFlow: false });
    const described = await identity.send(new DescribeIdentityPoolCommand({ IdentityPoolId: poolId }));
    expect(body(described)).toEqual(body(out));
    expect((await t.services.store.getIdentityPool(poolId))?.createdAt).toBe(before?.createdAt);
  });

  it('keeps the developer provider name and the tags when the update omits them', async () => {
    const poolId = (await identity.send(new CreateIdentityPoolCommand(FULL_SETTINGS))).IdentityPoolId ?? '';
    const out = await identity.send(new UpdateIdentityPoolCommand({
      IdentityPoolId: poolId, IdentityPoolName: 'kept', AllowUnauthenticatedIdentities: true,
    }));
    expect(out.DeveloperProviderName).toBe(FULL_SETTINGS.DeveloperProviderName);
    expect(out.IdentityPoolTags).toEqual(FULL_SETTINGS.IdentityPoolTags);
    expect(out.CognitoIdentityProviders).toBeUndefined();
  });

  it('starts a pool without roles, and keeps the stored roles and role mappings across an update', async () => {
    const poolId = await createPool();
    const created = await t.services.store.getIdentityPool(poolId);
    expect(created).toMatchObject({ roles: {}, roleMappings: {}, principalTagMaps: {} });
    const roles = { authenticated: 'arn:aws:iam::123456789012:role/auth' };
    const roleMappings = { 'graph.facebook.com': { Type: 'Token', AmbiguousRoleResolution: 'Deny' } };
    await t.services.store.modifyIdentityPool(poolId, (p) => ({ ...p, roles, roleMappings }));
    await identity.send(new UpdateIdentityPoolCommand({
      IdentityPoolId: poolId, IdentityPoolName: 'renamed', AllowUnauthenticatedIdentities: true,
    }));
    expect(await t.services.store.getIdentityPool(poolId)).toMatchObject({ identityPoolName: 'renamed', roles, roleMappings });
  });

  it('lets a developer provider name be set once, and refuses to change it', async () => {
    const poolId = await createPool();
    const base = { IdentityPoolId: poolId, IdentityPoolName: 'dev', AllowUnauthenticatedIdentities: true };
    const set = await identity.send(new UpdateIdentityPoolCommand({ ...base, DeveloperProviderName: 'first.dev' }));
    expect(set.DeveloperProviderName).toBe('first.dev');
    await expectError(identity.send(new UpdateIdentityPoolCommand({ ...base, DeveloperProviderName: 'second.dev' })),
      'InvalidParameterException', 'DeveloperProviderName cannot be changed');
    const again = await identity.send(new UpdateIdentityPoolCommand({ ...base, DeveloperProviderName: 'first.dev' }));
    expect(again.DeveloperProviderName).toBe('first.dev');
  });

  it('refuses a developer provider name that is also a login provider of the pool', async () => {
    const collides = 'is also a login provider of this identity pool';
    await expectError(createPool({ SupportedLoginProviders: { 'graph.facebook.com': '123' }, DeveloperProviderName: 'graph.facebook.com' }),
      'InvalidParameterException', collides);
    await expectError(createPool({ DeveloperProviderName: 'cognito-identity.amazonaws.com' }), 'InvalidParameterException', collides);
    const poolId = await createPool({ OpenIdConnectProviderARNs: ['arn:aws:iam::123456789012:oidc-provider/login.example.com'] });
    await expectError(identity.send(new UpdateIdentityPoolCommand({
      IdentityPoolId: poolId, IdentityPoolName: 'dev', AllowUnauthenticatedIdentities: true,
      OpenIdConnectProviderARNs: ['arn:aws:iam::123456789012:oidc-provider/login.example.com'],
      DeveloperProviderName: 'login.example.com',
    })), 'InvalidParameterException', collides);
    expect((await t.services.store.getIdentityPool(poolId))?.developerProviderName).toBeNull();
  });

  it('answers ResourceNotFoundException for an unknown pool', async () => {
    await expectError(identity.send(new UpdateIdentityPoolCommand({
      IdentityPoolId: 'us-east-1:00000000-0000-0000-0000-00000000000a', IdentityPoolName: 'x', AllowUnauthenticatedIdentities: true,
    })), 'ResourceNotFoundException', 'not found');
  });
});

describe('DeleteIdentityPool', () => {
  it('deletes the pool and its identities; a second delete is ResourceNotFoundException', async () => {
    const poolId = await createPool();
    const { IdentityId } = await identity.send(new GetIdCommand({ IdentityPoolId: poolId }));
    const out = await identity.send(new DeleteIdentityPoolCommand({ IdentityPoolId: poolId }));
    expect(out.$metadata.httpStatusCode).toBe(200);
    await expectError(identity.send(new DescribeIdentityPoolCommand({ IdentityPoolId: poolId })), 'ResourceNotFoundException');
    await expectError(identity.send(new DescribeIdentityCommand({ IdentityId })), 'ResourceNotFoundException');
    await expectError(identity.send(new DeleteIdentityPoolCommand({ IdentityPoolId: poolId })), 'ResourceNotFoundException',
      `IdentityPool '${poolId}' not found.`);
  });
});

describe('GetId and DescribeIdentity', () => {
  it('creates a new unauthenticated identity for each call when the pool allows guests', async () => {
    const poolId = await createPool();
    const before = Date.now();
    const a = await identity.send(new GetIdCommand({ IdentityPoolId: poolId }));
    const b = await identity.send(new GetIdCommand({ IdentityPoolId: poolId, AccountId: TEST_CREDENTIALS.accountId, Logins: {} }));
    expect(a.IdentityId).toMatch(ID_PATTERN);
    expect(b.IdentityId).toMatch(ID_PATTERN);
    expect(a.IdentityId).not.toBe(b.IdentityId);
    const described = await identity.send(new DescribeIdentityCommand({ IdentityId: a.IdentityId }));
    expect(described.IdentityId).toBe(a.IdentityId);
    expect(described.Logins).toBeUndefined();
    const row = await t.services.store.getIdentity(a.IdentityId ?? '');
    expect(row).toMatchObject({ identityPoolId: poolId, disabled: false });
    expect(described.CreationDate?.getTime()).toBe(row?.createdAt);
    expect(described.LastModifiedDate?.getTime()).toBe(row?.lastModifiedAt);
    expect(row?.createdAt).toBeGreaterThanOrEqual(before);
  });

  it('is sent unsigned and works from a client without credentials', async () => {
    const poolId = await createPool();
    const anonymous = new CognitoIdentityClient({ endpoint: t.endpoint, region: t.region, maxAttempts: 1 });
    const seen: Record<string, string>[] = [];
    anonymous.middlewareStack.add((next) => async (args) => {
      seen.push({ ...(args.request as { headers: Record<string, string> }).headers });
      return next(args);
    }, { step: 'deserialize' });
    const out = await anonymous.send(new GetIdCommand({ IdentityPoolId: poolId }));
    expect(out.IdentityId).toMatch(ID_PATTERN);
    expect(seen).toHaveLength(1);
    const headers = Object.keys(seen[0] ?? {}).map((h) => h.toLowerCase());
    expect(headers).toContain('x-amz-target');
    expect(headers).not.toContain('authorization');
  });

  it('refuses unauthenticated identities when the pool does not allow them', async () => {
    const poolId = await createPool({ AllowUnauthenticatedIdentities: false });
    await expectError(identity.send(new GetIdCommand({ IdentityPoolId: poolId })), 'NotAuthorizedException',
      'Unauthenticated access is not supported for this identity pool.');
  });

  it('refuses logins (not supported yet) without creating an identity', async () => {
    const poolId = await createPool();
    await expectError(identity.send(new GetIdCommand({ IdentityPoolId: poolId, Logins: { 'graph.facebook.com': 'token' } })),
      'NotAuthorizedException', 'graph.facebook.com');
    const listed = await identity.send(new ListIdentitiesCommand({ IdentityPoolId: poolId, MaxResults: 10 }));
    expect(listed.Identities).toEqual([]);
  });

  it('refuses an AccountId other than the server account', async () => {
    const poolId = await createPool();
    await expectError(identity.send(new GetIdCommand({ IdentityPoolId: poolId, AccountId: '999999999999' })), 'NotAuthorizedException');
  });

  it('answers ResourceNotFoundException for an unknown pool or identity', async () => {
    await expectError(identity.send(new GetIdCommand({ IdentityPoolId: 'us-east-1:00000000-0000-0000-0000-0000000000ff' })),
      'ResourceNotFoundException', 'not found');
    const id = 'us-east-1:00000000-0000-0000-0000-0000000000ee';
    await expectError(identity.send(new DescribeIdentityCommand({ IdentityId: id })), 'ResourceNotFoundException', `Identity '${id}' not found.`);
  });
});

describe('ListIdentityPools and ListIdentities: pagination', () => {
  const p = sharedServer();
  let client: CognitoIdentityClient;
  beforeAll(() => {
    client = clients(p).identity;
  });

  it('pages through all pools with no repeats or skips', async () => {
    const created: string[] = [];
    for (let i = 0; i < 7; i++) created.push(await createPool({ IdentityPoolName: `paged ${i}` }, client));
    const pages: IdentityPoolShortDescription[][] = [];
    let token: string | undefined;
    do {
      const out = await client.send(new ListIdentityPoolsCommand({ MaxResults: 3, ...(token ? { NextToken: token } : {}) }));
      pages.push(out.IdentityPools ?? []);
      token = out.NextToken;
    } while (token);
    expect(pages.map((page) => page.length)).toEqual([3, 3, 1]);
    const ids = pages.flat().map((x) => x.IdentityPoolId);
    expect(ids).toEqual([...created].sort());
    expect(pages.flat().every((x) => x.IdentityPoolName?.startsWith('paged '))).toBe(true);
  });

  it('answers no NextToken when the page holds the rest exactly', async () => {
    const out = await client.send(new ListIdentityPoolsCommand({ MaxResults: 60 }));
    expect(out.NextToken).toBeUndefined();
  });

  it('pages through identities, and hides disabled ones only when asked', async () => {
    const poolId = await createPool({}, client);
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await client.send(new GetIdCommand({ IdentityPoolId: poolId }))).IdentityId ?? '');
    const disabled = ['us-east-1:00000000-0000-0000-0000-000000000001', 'us-east-1:ffffffff-0000-0000-0000-000000000001'];
    for (const identityId of disabled) {
      await p.services.store.createIdentity({ identityId, identityPoolId: poolId, createdAt: 1, lastModifiedAt: 1, disabled: true });
    }
    const all = await listAll(client, poolId, 3, false);
    expect(all.pages).toEqual([3, 3, 3]);
    expect(all.ids).toEqual([...ids, ...disabled].sort());
    const visible = await listAll(client, poolId, 3, true);
    expect(visible.pages).toEqual([3, 3, 1]);
    expect(visible.ids).toEqual([...ids].sort());
  });

  it('answers ResourceNotFoundException for an unknown pool and InvalidParameterException for a bad token', async () => {
    await expectError(client.send(new ListIdentitiesCommand({ IdentityPoolId: 'us-east-1:0000dead', MaxResults: 5 })), 'ResourceNotFoundException');
    await expectError(client.send(new ListIdentityPoolsCommand({ MaxResults: 5, NextToken: 'not-a-token' })), 'InvalidParameterException', 'NextToken');
  });

  it('refuses to create more pools than the quota', async () => {
    const count = (await p.services.store.listIdentityPools({ limit: MAX_IDENTITY_POOLS })).length;
    for (let i = count; i < MAX_IDENTITY_POOLS - 3; i++) await p.services.store.createIdentityPool(poolRow(`us-east-1:${i.toString(16)}`));
    // Ten at once for the last three places: three are created, whatever their order.
    const racing = await Promise.allSettled(Array.from({ length: 10 }, () => createPool({}, client)));
    expect(racing.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    expect((await p.services.store.listIdentityPools({ limit: 2 * MAX_IDENTITY_POOLS })).length).toBe(MAX_IDENTITY_POOLS);
    await expectError(createPool({}, client), 'LimitExceededException', `${MAX_IDENTITY_POOLS}`);
  });
});

async function listAll(client: CognitoIdentityClient, poolId: string, max: number, hideDisabled: boolean) {
  const pages: number[] = [];
  const ids: string[] = [];
  let token: string | undefined;
  do {
    const out = await client.send(new ListIdentitiesCommand({
      IdentityPoolId: poolId, MaxResults: max, HideDisabled: hideDisabled, ...(token ? { NextToken: token } : {}),
    }));
    expect(out.IdentityPoolId).toBe(poolId);
    pages.push(out.Identities?.length ?? 0);
    ids.push(...(out.Identities ?? []).map((i) => i.IdentityId ?? ''));
    token = out.NextToken;
  } while (token);
  return { pages, ids };
}

function poolRow(identityPoolId: string): IdentityPool {
  return {
    identityPoolId, identityPoolName: 'bulk', allowUnauthenticatedIdentities: false, allowClassicFlow: false,
    supportedLoginProviders: {}, developerProviderName: null, openIdConnectProviderArns: [], cognitoIdentityProviders: [],
    samlProviderArns: [], tags: {}, roles: {}, roleMappings: {}, principalTagMaps: {}, createdAt: 0,
  };
}

describe('validation and authorization', () => {
  // Cognito Identity's front end answers ValidationException, which the mobile credentials providers act on.
  it('answers constraint violations with ValidationException before the handler runs', async () => {
    await expectError(createPool({ IdentityPoolName: 'bad/name' }), 'ValidationException', 'identityPoolName');
    await expectError(identity.send(new ListIdentityPoolsCommand({ MaxResults: 0 })), 'ValidationException', 'maxResults');
    await expectError(identity.send(new ListIdentityPoolsCommand({ MaxResults: 61 })), 'ValidationException', 'maxResults');
    await expectError(identity.send(new ListIdentitiesCommand({ IdentityPoolId: 'no-colon', MaxResults: 1 })),
      'ValidationException', 'identityPoolId');
    await expectError(createPool({ DeveloperProviderName: 'bad name!' }), 'ValidationException', 'developerProviderName');
    // Patterns are read as Java reads them: `\s` is ASCII whitespace only, so a no-break space does not match.
    await expectError(createPool({ IdentityPoolName: 'a\u00a0b' }), 'ValidationException', 'identityPoolName');
    expect(await createPool({ IdentityPoolName: 'a b\tc' })).toMatch(/^us-east-1:/);
  });

  it('reports a map whose keys or values break their constraints as Coral does: once, at the map', async () => {
    const poolId = await createPool();
    // The message AWS answered an app that sent an empty Facebook token, with today's model's limits.
    await expectError(identity.send(new GetIdCommand({ IdentityPoolId: poolId, Logins: { 'graph.facebook.com': '' } })),
      'ValidationException', "1 validation error detected: Value '{graph.facebook.com=}' at 'logins' failed to satisfy " +
      'constraint: Map value must satisfy constraint: [Member must have length less than or equal to 50000, ' +
      'Member must have length greater than or equal to 1]');
    await expectError(createPool({ IdentityPoolTags: { ['k'.repeat(129)]: 'v', ok: 'v' } }), 'ValidationException',
      `Value '{${'k'.repeat(129)}=v, ok=v}' at 'identityPoolTags' failed to satisfy constraint: Map keys must satisfy ` +
      'constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 1');
  });

  it('answers a member of the wrong JSON type as a 400 client error naming the member', async () => {
    const bad = { IdentityPoolName: 'typed', AllowUnauthenticatedIdentities: 'yes' } as unknown as CreateIdentityPoolInput;
    // The edge's validator reports JSON type mismatches as SerializationException (src/api/validate.ts).
    await expectError(identity.send(new CreateIdentityPoolCommand(bad)), 'SerializationException', 'allowUnauthenticatedIdentities');
  });

  it('refuses developer operations with unknown or wrong credentials', async () => {
    const stranger = clients(t, { accessKeyId: 'AKIAUNKNOWNKEY000001', secretAccessKey: 'whatever' }).identity;
    await expectError(stranger.send(new ListIdentityPoolsCommand({ MaxResults: 1 })), 'UnrecognizedClientException');
    const wrongSecret = clients(t, { accessKeyId: t.credentials.accessKeyId, secretAccessKey: 'wrong-secret' }).identity;
    await expectError(wrongSecret.send(new CreateIdentityPoolCommand({ IdentityPoolName: 'x', AllowUnauthenticatedIdentities: true })),
      'InvalidSignatureException');
  });

  it('refuses developer operations sent unsigned', async () => {
    const res = await fetch(t.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSCognitoIdentityService.ListIdentityPools' },
      body: JSON.stringify({ MaxResults: 5 }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ __type: 'MissingAuthenticationTokenException' });
  });
});
