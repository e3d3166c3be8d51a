/**
 * ListIdentities describes each identity as DescribeIdentity does (the provider names of its logins, each once, in the
 * store's order of logins), and reads a page's logins in one store call rather than one per identity.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CreateIdentityPoolCommand } from '@aws-sdk/client-cognito-identity';
import { clients, startServer, type TestServer } from '../helpers/server.js';
import { raw, type RawResponse } from '../wire/raw-http.js';

let t: TestServer;
beforeAll(async () => {
  t = await startServer();
});
afterAll(() => t.close());

/** One Cognito Identity call, signed, answered unparsed. */
function call(target: string, input: object): Promise<RawResponse> {
  return raw(t, {
    method: 'POST', path: '/', sign: { service: 'cognito-identity' },
    headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': `AWSCognitoIdentityService.${target}` },
    body: JSON.stringify(input),
  });
}

describe('ListIdentities', () => {
  it('answers each identity as DescribeIdentity does, byte for byte, with one logins read per page', async () => {
    const { store } = t.services;
    const created = await clients(t).identity.send(new CreateIdentityPoolCommand({
      IdentityPoolName: 'listed', AllowUnauthenticatedIdentities: true,
    }));
    const poolId = created.IdentityPoolId ?? '';
    const ids = ['a', 'b', 'c', 'd', 'e'].map((n) => `us-east-1:0000000${n}-0000-0000-0000-000000000000`);
    for (const identityId of ids) {
      await store.createIdentity({ identityId, identityPoolId: poolId, createdAt: 1_000, lastModifiedAt: 2_000, disabled: false });
    }
    // Two users of the developer provider (listed once), and upper case before lower case.
    const logins: [number, string, string][] = [
      [0, 'login.dev', 'u2'], [0, 'accounts.google.com', 'g1'], [0, 'login.dev', 'u1'], [0, 'Zeta.example', 'z'],
      [2, 'graph.facebook.com', 'f1'], [4, 'login.dev', 'u3'],
    ];
    for (const [i, providerName, subject] of logins) {
      await store.linkLogin({ identityPoolId: poolId, providerName, subject, identityId: ids[i]!, linkedAt: 3_000 });
    }

    const described: string[] = [];
    for (const IdentityId of ids) described.push((await call('DescribeIdentity', { IdentityId })).text);
    expect(JSON.parse(described[0]!)).toMatchObject({ Logins: ['Zeta.example', 'accounts.google.com', 'login.dev'] });
    expect(JSON.parse(described[1]!)).not.toHaveProperty('Logins');

    const perIdentity = vi.spyOn(store, 'listLogins');
    const perPage = vi.spyOn(store, 'listLoginsOf');
    try {
      const all = await call('ListIdentities', { IdentityPoolId: poolId, MaxResults: 60 });
      expect(all.status).toBe(200);
      expect(all.text).toBe(`{"IdentityPoolId":${JSON.stringify(poolId)},"Identities":[${described.join(',')}]}`);
      const paged = await call('ListIdentities', { IdentityPoolId: poolId, MaxResults: 2 });
      expect((paged.json as { Identities: unknown[] }).Identities).toEqual(described.slice(0, 2).map((d) => JSON.parse(d)));
      expect(perIdentity).not.toHaveBeenCalled();
      expect(perPage.mock.calls).toEqual([[ids], [ids.slice(0, 2)]]);
    } finally {
      perIdentity.mockRestore();
      perPage.mockRestore();
    }
  });
});
