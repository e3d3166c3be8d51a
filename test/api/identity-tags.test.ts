import { beforeAll, describe, expect, it } from 'vitest';
import {
  CognitoIdentityClient, DeleteIdentityPoolCommand, DescribeIdentityPoolCommand,
  GetPrincipalTagAttributeMapCommand, ListTagsForResourceCommand, SetPrincipalTagAttributeMapCommand, TagResourceCommand,
  UntagResourceCommand, UpdateIdentityPoolCommand, type CreateIdentityPoolInput,
} from '@aws-sdk/client-cognito-identity';
import { clients, poolMaker, TEST_CREDENTIALS } from '../helpers/server.js';
import { sharedServer } from '../helpers/shared-server.js';
import { expectRefused, identityJson, poolCredentials, staticCredentials } from '../identity/support.js';

/**
 * Identity pool tags (TagResource, UntagResource, ListTagsForResource) and principal tag attribute maps
 * (Get/SetPrincipalTagAttributeMap), black-box through the official v3 client.
 */

const t = sharedServer();
let identity: CognitoIdentityClient;

beforeAll(() => {
  identity = clients(t).identity;
});

const MISSING_POOL = 'us-east-1:00000000-0000-0000-0000-0000000000ff';

const arn = (poolId: string, region = t.region, account = TEST_CREDENTIALS.accountId) =>
  `arn:aws:cognito-identity:${region}:${account}:identitypool/${poolId}`;

const createPool = poolMaker('tags_pool', () => identity);

const listTags = async (poolId: string) =>
  (await identity.send(new ListTagsForResourceCommand({ ResourceArn: arn(poolId) }))).Tags;
const describedTags = async (poolId: string) =>
  (await identity.send(new DescribeIdentityPoolCommand({ IdentityPoolId: poolId }))).IdentityPoolTags;
const manyTags = (n: number, prefix = 'k') => Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, `v${i}`]));

/** Runs `call` and checks that it fails with the given AWS error name, HTTP 400 and (part of) the message. */
const expectError = (call: Promise<unknown>, name: string, message?: string | RegExp) => expectRefused(call, name, 400, message);

describe('TagResource / UntagResource / ListTagsForResource', () => {
  it('merges, removes and lists tags; they are the IdentityPoolTags of DescribeIdentityPool', async () => {
    const poolId = await createPool({ IdentityPoolTags: { team: 'sync' } });
    expect(await listTags(poolId)).toEqual({ team: 'sync' });

    const tagged = await identity.send(new TagResourceCommand({ ResourceArn: arn(poolId), Tags: { env: 'test', team: 'core' } }));
    expect(tagged.$metadata.httpStatusCode).toBe(200);
    expect(await listTags(poolId)).toEqual({ team: 'core', env: 'test' });
    expect(await describedTags(poolId)).toEqual({ team: 'core', env: 'test' });

    // Unknown keys are ignored.
    await identity.send(new UntagResourceCommand({ ResourceArn: arn(poolId), TagKeys: ['team', 'never-set'] }));
    expect(await listTags(poolId)).toEqual({ env: 'test' });
    expect(await describedTags(poolId)).toEqual({ env: 'test' });

    await identity.send(new UntagResourceCommand({ ResourceArn: arn(poolId), TagKeys: ['env'] }));
    expect(await listTags(poolId)).toEqual({});
    expect(await describedTags(poolId)).toBeUndefined();
  });

  it('keeps tags set by TagResource across an UpdateIdentityPool that omits IdentityPoolTags; one that sends them replaces them', async () => {
    const poolId = await createPool();
    await identity.send(new TagResourceCommand({ ResourceArn: arn(poolId), Tags: { owner: 'me', empty: '' } }));
    const base = { IdentityPoolId: poolId, IdentityPoolName: 'renamed', AllowUnauthenticatedIdentities: false };
    const kept = await identity.send(new UpdateIdentityPoolCommand(base));
    expect(kept.IdentityPoolTags).toEqual({ owner: 'me', empty: '' });
    await identity.send(new UpdateIdentityPoolCommand({ ...base, IdentityPoolTags: { only: 'this' } }));
    expect(await listTags(poolId)).toEqual({ only: 'this' });
  });

  it('caps a pool at 50 tags (InvalidParameterException, nothing changed); replacing values at the cap is fine', async () => {
    const poolId = await createPool({ IdentityPoolTags: manyTags(45) });
    await identity.send(new TagResourceCommand({ ResourceArn: arn(poolId), Tags: manyTags(5, 'extra') }));
    expect(Object.keys((await listTags(poolId)) ?? {})).toHaveLength(50);

    await expectError(identity.send(new TagResourceCommand({ ResourceArn: arn(poolId), Tags: { k0: 'changed', one: 'too many' } })),
      'InvalidParameterException', 'at most 50 tags');
    const after = (await listTags(poolId)) ?? {};
    expect(Object.keys(after)).toHaveLength(50);
    expect(after['k0']).toBe('v0');

    await identity.send(new TagResourceCommand({ ResourceArn: arn(poolId), Tags: { k0: 'changed' } }));
    expect((await listTags(poolId))?.['k0']).toBe('changed');
    // Freeing a slot makes room for a new key.
    await identity.send(new UntagResourceCommand({ ResourceArn: arn(poolId), TagKeys: ['k1'] }));
    await identity.send(new TagResourceCommand({ ResourceArn: arn(poolId), Tags: { one: 'fits now' } }));
    expect(Object.keys((await listTags(poolId)) ?? {})).toHaveLength(50);
  });

  it('applies the same cap to IdentityPoolTags of CreateIdentityPool and UpdateIdentityPool', async () => {
    await expectError(createPool({ IdentityPoolTags: manyTags(51) }), 'InvalidParameterException', 'at most 50 tags');
    const poolId = await createPool({ IdentityPoolTags: manyTags(50) });
    await expectError(identity.send(new UpdateIdentityPoolCommand({
      IdentityPoolId: poolId, IdentityPoolName: 'too_many', AllowUnauthenticatedIdentities: true, IdentityPoolTags: manyTags(51),
    })), 'InvalidParameterException', 'at most 50 tags');
    expect(Object.keys((await listTags(poolId)) ?? {})).toHaveLength(50);
  });

  it('answers ResourceNotFoundException for a pool that does not exist (or no longer does) or belongs to another account', async () => {
    const deleted = await createPool({ IdentityPoolTags: { a: 'b' } });
    await identity.send(new DeleteIdentityPoolCommand({ IdentityPoolId: deleted }));
    for (const resourceArn of [arn(MISSING_POOL), arn(deleted)]) {
      const poolId = resourceArn.split('/')[1] ?? '';
      await expectError(identity.send(new ListTagsForResourceCommand({ ResourceArn: resourceArn })), 'ResourceNotFoundException',
        `IdentityPool '${poolId}' not found.`);
      await expectError(identity.send(new TagResourceCommand({ ResourceArn: resourceArn, Tags: { a: 'b' } })), 'ResourceNotFoundException');
      await expectError(identity.send(new UntagResourceCommand({ ResourceArn: resourceArn, TagKeys: ['a'] })), 'ResourceNotFoundException');
    }
    const poolId = await createPool();
    await expectError(identity.send(new ListTagsForResourceCommand({ ResourceArn: arn(poolId, t.region, '999999999999') })),
      'ResourceNotFoundException', "account '999999999999'");
  });

  it('answers InvalidParameterException for an ARN that is not an identity pool of this region', async () => {
    const poolId = await createPool();
    const notPools = [
      'arn:aws:iam::123456789012:role/some-role',
      `arn:aws:cognito-idp:${t.region}:${TEST_CREDENTIALS.accountId}:userpool/${t.region}_AbCdEf123`,
      `arn:aws:cognito-identity:${t.region}:${TEST_CREDENTIALS.accountId}:identitypool`,
      `${poolId}-and-then-some-text`,
    ];
    for (const ResourceArn of notPools) {
      await expectError(identity.send(new ListTagsForResourceCommand({ ResourceArn })), 'InvalidParameterException',
        'is not an identity pool ARN');
    }
    await expectError(identity.send(new TagResourceCommand({ ResourceArn: arn(poolId, 'eu-west-1'), Tags: { a: 'b' } })),
      'InvalidParameterException', `this server serves '${t.region}'`);
    // Shorter than the model's 20 characters: refused before the handler runs, as a model constraint.
    await expectError(identity.send(new ListTagsForResourceCommand({ ResourceArn: 'arn:aws:x' })), 'ValidationException',
      'resourceArn');
    expect(await listTags(poolId)).toEqual({});
  });
});

describe('GetPrincipalTagAttributeMap / SetPrincipalTagAttributeMap', () => {
  const GOOGLE = 'accounts.google.com';
  const OIDC = 'login.example.com';
  const USER_POOL = 'cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf123';
  const SAML = 'arn:aws:iam::123456789012:saml-provider/corp';
  const DEVELOPER = 'login.example_app';
  const providers = {
    SupportedLoginProviders: { [GOOGLE]: 'google-app.apps.googleusercontent.com' },
    OpenIdConnectProviderARNs: [`arn:aws:iam::123456789012:oidc-provider/${OIDC}`],
    CognitoIdentityProviders: [{ ProviderName: USER_POOL, ClientId: 'client1' }],
    SamlProviderARNs: [SAML],
    DeveloperProviderName: DEVELOPER,
  } satisfies Partial<CreateIdentityPoolInput>;

  const get = (IdentityPoolId: string, IdentityProviderName: string) =>
    identity.send(new GetPrincipalTagAttributeMapCommand({ IdentityPoolId, IdentityProviderName }));
  const answer = (IdentityPoolId: string, IdentityProviderName: string, UseDefaults: boolean, PrincipalTags: Record<string, string>) =>
    ({ IdentityPoolId, IdentityProviderName, UseDefaults, PrincipalTags });
  const body = <T extends { $metadata: unknown }>({ $metadata: _, ...rest }: T) => rest;

  it('keeps one map per provider of the pool, of every kind; a provider never set answers no defaults and no tags', async () => {
    const poolId = await createPool(providers);
    for (const name of [GOOGLE, OIDC, USER_POOL, SAML]) expect(body(await get(poolId, name))).toEqual(answer(poolId, name, false, {}));

    const maps: Record<string, { UseDefaults?: boolean; PrincipalTags?: Record<string, string> }> = {
      [GOOGLE]: { PrincipalTags: { email: 'email', org: 'hd' } },
      [OIDC]: { UseDefaults: false, PrincipalTags: { department: 'custom:dept' } },
      [USER_POOL]: { UseDefaults: true },
      [SAML]: { UseDefaults: true, PrincipalTags: { role: 'https://example.com/claims/role' } },
    };
    for (const [name, map] of Object.entries(maps)) {
      const set = await identity.send(new SetPrincipalTagAttributeMapCommand({ IdentityPoolId: poolId, IdentityProviderName: name, ...map }));
      expect(body(set)).toEqual(answer(poolId, name, map.UseDefaults ?? false, map.PrincipalTags ?? {}));
    }
    for (const [name, map] of Object.entries(maps)) {
      expect(body(await get(poolId, name))).toEqual(answer(poolId, name, map.UseDefaults ?? false, map.PrincipalTags ?? {}));
    }
    // Not part of the pool description.
    expect(body(await identity.send(new DescribeIdentityPoolCommand({ IdentityPoolId: poolId })))).not.toHaveProperty('PrincipalTags');
  });

  it('replaces the whole map on each set (absent members reset), and clears it with no defaults and no tags', async () => {
    const poolId = await createPool(providers);
    const set = (extra: { UseDefaults?: boolean; PrincipalTags?: Record<string, string> }) =>
      identity.send(new SetPrincipalTagAttributeMapCommand({ IdentityPoolId: poolId, IdentityProviderName: GOOGLE, ...extra }));
    await set({ UseDefaults: true, PrincipalTags: { a: 'b' } });
    await set({ PrincipalTags: { c: 'd' } });
    expect(body(await get(poolId, GOOGLE))).toEqual(answer(poolId, GOOGLE, false, { c: 'd' }));
    await set({ UseDefaults: true });
    expect(body(await get(poolId, GOOGLE))).toEqual(answer(poolId, GOOGLE, true, {}));
    await set({ UseDefaults: false, PrincipalTags: {} });
    expect(body(await get(poolId, GOOGLE))).toEqual(answer(poolId, GOOGLE, false, {}));
    expect((await t.services.store.getIdentityPool(poolId))?.principalTagMaps).toEqual({});
  });

  it('keeps the maps across UpdateIdentityPool, and across tagging', async () => {
    const poolId = await createPool(providers);
    await identity.send(new SetPrincipalTagAttributeMapCommand({
      IdentityPoolId: poolId, IdentityProviderName: OIDC, PrincipalTags: { team: 'custom:team' },
    }));
    await identity.send(new UpdateIdentityPoolCommand({ IdentityPoolId: poolId, IdentityPoolName: 'renamed', AllowUnauthenticatedIdentities: true, ...providers }));
    await identity.send(new TagResourceCommand({ ResourceArn: arn(poolId), Tags: { x: 'y' } }));
    expect(body(await get(poolId, OIDC))).toEqual(answer(poolId, OIDC, false, { team: 'custom:team' }));
  });

  it('refuses a provider the pool does not use, its developer provider, and an OIDC provider named by its ARN', async () => {
    const poolId = await createPool(providers);
    const notProviders = ['graph.facebook.com', DEVELOPER, `arn:aws:iam::123456789012:oidc-provider/${OIDC}`, 'cognito-idp.us-east-1.amazonaws.com/us-east-1_Other'];
    for (const name of notProviders) {
      await expectError(get(poolId, name), 'InvalidParameterException', `IdentityProviderName '${name}' is not an identity provider`);
      await expectError(identity.send(new SetPrincipalTagAttributeMapCommand({
        IdentityPoolId: poolId, IdentityProviderName: name, UseDefaults: true,
      })), 'InvalidParameterException', 'is not an identity provider');
    }
    // A pool without providers has none to map.
    const bare = await createPool();
    await expectError(get(bare, GOOGLE), 'InvalidParameterException', 'is not an identity provider');
    expect((await t.services.store.getIdentityPool(poolId))?.principalTagMaps).toEqual({});
  });

  it('answers ResourceNotFoundException for an unknown pool, and checks the model constraints', async () => {
    await expectError(get(MISSING_POOL, GOOGLE), 'ResourceNotFoundException', `IdentityPool '${MISSING_POOL}' not found.`);
    await expectError(identity.send(new SetPrincipalTagAttributeMapCommand({ IdentityPoolId: MISSING_POOL, IdentityProviderName: GOOGLE })),
      'ResourceNotFoundException');
    const poolId = await createPool(providers);
    await expectError(identity.send(new SetPrincipalTagAttributeMapCommand({
      IdentityPoolId: poolId, IdentityProviderName: GOOGLE, PrincipalTags: manyTags(51),
    })), 'ValidationException', 'principalTags');
    await expectError(identity.send(new SetPrincipalTagAttributeMapCommand({
      IdentityPoolId: poolId, IdentityProviderName: GOOGLE, PrincipalTags: { empty: '' },
    })), 'ValidationException', 'principalTags');
  });
});

describe('credential classes', () => {
  it('refuses identity credentials (NotAuthorizedException) for all five operations, even for their own pool', async () => {
    const poolId = await createPool({ SupportedLoginProviders: { 'accounts.google.com': 'g' }, IdentityPoolTags: { keep: 'me' } });
    const creds = await staticCredentials(poolCredentials(t, poolId));
    const guest = clients(t, creds).identity;
    const ResourceArn = arn(poolId);
    const calls: Record<string, () => Promise<unknown>> = {
      TagResource: () => guest.send(new TagResourceCommand({ ResourceArn, Tags: { evil: 'yes' } })),
      UntagResource: () => guest.send(new UntagResourceCommand({ ResourceArn, TagKeys: ['keep'] })),
      ListTagsForResource: () => guest.send(new ListTagsForResourceCommand({ ResourceArn })),
      GetPrincipalTagAttributeMap: () => guest.send(new GetPrincipalTagAttributeMapCommand({
        IdentityPoolId: poolId, IdentityProviderName: 'accounts.google.com',
      })),
      SetPrincipalTagAttributeMap: () => guest.send(new SetPrincipalTagAttributeMapCommand({
        IdentityPoolId: poolId, IdentityProviderName: 'accounts.google.com', UseDefaults: true,
      })),
    };
    for (const [name, call] of Object.entries(calls)) {
      const err = await expectError(call(), 'NotAuthorizedException');
      expect(err.message, name).toBe('These credentials are not valid for accessing this resource');
    }
    // Nothing changed.
    expect(await listTags(poolId)).toEqual({ keep: 'me' });
    expect((await t.services.store.getIdentityPool(poolId))?.principalTagMaps).toEqual({});
  });

  it('refuses unsigned calls (MissingAuthenticationTokenException) for all five operations', async () => {
    const poolId = await createPool({ SupportedLoginProviders: { 'accounts.google.com': 'g' } });
    const ResourceArn = arn(poolId);
    const provider = { IdentityPoolId: poolId, IdentityProviderName: 'accounts.google.com' };
    const calls: Record<string, unknown> = {
      TagResource: { ResourceArn, Tags: { evil: 'yes' } },
      UntagResource: { ResourceArn, TagKeys: ['a'] },
      ListTagsForResource: { ResourceArn },
      GetPrincipalTagAttributeMap: provider,
      SetPrincipalTagAttributeMap: { ...provider, UseDefaults: true },
    };
    for (const [operation, input] of Object.entries(calls)) {
      const { status, json } = await identityJson(t, operation, input);
      expect({ operation, status, type: json['__type'] }).toEqual({ operation, status: 400, type: 'MissingAuthenticationTokenException' });
    }
    expect(await listTags(poolId)).toEqual({});
  });
});
