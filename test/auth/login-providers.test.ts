import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoginVerifier, parseLoginProvidersConfig, type LoginProvidersConfig } from '../../src/auth/login-providers.js';
import { ServiceError } from '../../src/api/errors.js';
import type { IdentityPool } from '../../src/storage/types.js';
import { startOidcIssuer, type OidcIssuer } from '../helpers/oidc-issuer.js';

const OIDC = 'login.example.com';
const COGNITO = 'cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC';
const GOOGLE = 'accounts.google.com';
const OIDC_AUD = 'oidc-client';
const COGNITO_CLIENT = 'cognito-app-client';
const GOOGLE_APP = 'google-app-id.apps.example';

function pool(overrides: Partial<IdentityPool> = {}): IdentityPool {
  return {
    identityPoolId: 'us-east-1:00000000-0000-0000-0000-000000000001',
    identityPoolName: 'test',
    allowUnauthenticatedIdentities: false,
    allowClassicFlow: false,
    supportedLoginProviders: { [GOOGLE]: GOOGLE_APP },
    developerProviderName: null,
    openIdConnectProviderArns: [`arn:aws:iam::123456789012:oidc-provider/${OIDC}`],
    cognitoIdentityProviders: [{ providerName: COGNITO, clientId: COGNITO_CLIENT, serverSideTokenCheck: false }],
    samlProviderArns: [],
    tags: {},
    roles: {},
    roleMappings: {},
    principalTagMaps: {},
    createdAt: 0,
    ...overrides,
  };
}

let idp: OidcIssuer;
let config: LoginProvidersConfig;

beforeAll(async () => {
  idp = await startOidcIssuer();
  config = {
    [OIDC]: { issuer: idp.issuer, audiences: [OIDC_AUD] },
    [COGNITO]: { issuer: idp.issuer },
    [GOOGLE]: { issuer: idp.issuer },
  };
});
afterAll(async () => { await idp.close(); });

const now = (): number => Date.now();

async function refusal(p: Promise<unknown>): Promise<ServiceError> {
  const e: unknown = await p.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(ServiceError);
  return e as ServiceError;
}

async function expectNotAuthorized(p: Promise<unknown>, message: RegExp): Promise<void> {
  const e = await refusal(p);
  expect(e.code).toBe('NotAuthorizedException');
  expect(e.message).toMatch(/^Invalid login token\. /);
  expect(e.message).toMatch(message);
}

describe('LoginVerifier accepts', () => {
  it('an OIDC provider token whose audience the operator configured', async () => {
    const v = new LoginVerifier(config);
    const token = await idp.mint({ sub: 'user-1', aud: OIDC_AUD, email: 'u@example.com' });
    const out = await v.verify(pool(), OIDC, token, now());
    expect(out).toMatchObject({ providerName: OIDC, subject: 'user-1' });
    expect(out.claims.email).toBe('u@example.com');
  });

  it('a Cognito user pool ID token for the pool\'s app client', async () => {
    const v = new LoginVerifier(config);
    const token = await idp.mint({ sub: 'cog-1', aud: COGNITO_CLIENT, token_use: 'id' });
    expect((await v.verify(pool(), COGNITO, token, now())).subject).toBe('cog-1');
  });

  it('a Cognito token naming the app client in client_id when it has no token_use', async () => {
    const v = new LoginVerifier(config);
    const token = await idp.mint({ sub: 'cog-2', aud: 'something-else', client_id: COGNITO_CLIENT });
    expect((await v.verify(pool(), COGNITO, token, now())).subject).toBe('cog-2');
  });

  it('a supported login provider token for the pool\'s app id (aud as an array)', async () => {
    const v = new LoginVerifier(config);
    const token = await idp.mint({ sub: 'g-1', aud: ['other-app', GOOGLE_APP] });
    expect((await v.verify(pool(), GOOGLE, token, now())).subject).toBe('g-1');
  });

  it('within the clock tolerance of expiry', async () => {
    const v = new LoginVerifier(config);
    const iat = Math.floor(now() / 1000);
    const token = await idp.mint({ sub: 'u', aud: OIDC_AUD }, { issuedAt: iat, expiresInSeconds: 60 });
    await expect(v.verify(pool(), OIDC, token, (iat + 90) * 1000)).resolves.toMatchObject({ subject: 'u' });
  });
});

describe('LoginVerifier refuses', () => {
  it('a provider the pool does not list, naming it', async () => {
    const v = new LoginVerifier(config);
    const token = await idp.mint({ sub: 'u', aud: OIDC_AUD });
    await expectNotAuthorized(v.verify(pool({ openIdConnectProviderArns: [] }), OIDC, token, now()),
      /not configured for this identity pool: login\.example\.com/);
  });

  it('a provider the pool lists but the server has no config for', async () => {
    const v = new LoginVerifier({});
    const token = await idp.mint({ sub: 'u', aud: GOOGLE_APP });
    await expectNotAuthorized(v.verify(pool(), GOOGLE, token, now()), /accounts\.google\.com.*--login-providers/);
  });

  it('an OIDC provider with no audiences configured, whatever the token\'s audience', async () => {
    const v = new LoginVerifier({ [OIDC]: { issuer: idp.issuer } });
    const token = await idp.mint({ sub: 'u', aud: OIDC_AUD });
    await expectNotAuthorized(v.verify(pool(), OIDC, token, now()), /audiences/);
  });

  it('a token from another issuer', async () => {
    const v = new LoginVerifier(config);
    const token = await idp.mint({ sub: 'u', aud: OIDC_AUD, iss: 'https://evil.example.com' });
    await expectNotAuthorized(v.verify(pool(), OIDC, token, now()), /Issuer does not match providerName/);
  });

  it('a token for another audience', async () => {
    const v = new LoginVerifier(config);
    for (const [provider, aud] of [[OIDC, 'x'], [COGNITO, 'x'], [GOOGLE, OIDC_AUD]] as const) {
      const token = await idp.mint({ sub: 'u', aud });
      await expectNotAuthorized(v.verify(pool(), provider, token, now()), /Incorrect token audience\./);
    }
  });

  it('an expired token (judged at the request time)', async () => {
    const v = new LoginVerifier(config);
    const token = await idp.mint({ sub: 'u', aud: OIDC_AUD }, { expiresInSeconds: 600 });
    await expectNotAuthorized(v.verify(pool(), OIDC, token, now() + 3600_000), /Token is expired\./);
  });

  it('a token that is not yet valid', async () => {
    const v = new LoginVerifier(config);
    const nbf = Math.floor(now() / 1000) + 3600;
    const token = await idp.mint({ sub: 'u', aud: OIDC_AUD, nbf });
    await expectNotAuthorized(v.verify(pool(), OIDC, token, now()), /not yet valid/);
    await expect(v.verify(pool(), OIDC, token, (nbf + 1) * 1000)).resolves.toMatchObject({ subject: 'u' });
  });

  it('a token signed by a key the issuer does not publish', async () => {
    const v = new LoginVerifier(config);
    const forged = await idp.mint({ sub: 'u', aud: OIDC_AUD }, { key: 'other' });
    await expectNotAuthorized(v.verify(pool(), OIDC, forged, now()), /signature is invalid/);
    const unknownKid = await idp.mint({ sub: 'u', aud: OIDC_AUD }, { key: 'other', kid: 'nobody' });
    await expectNotAuthorized(v.verify(pool(), OIDC, unknownKid, now()), /signing key is not published/);
  });

  it('alg none and HS256 tokens, without contacting the issuer', async () => {
    const v = new LoginVerifier(config);
    const before = idp.requests;
    for (const alg of ['none', 'HS256']) {
      const token = await idp.mint({ sub: 'u', aud: OIDC_AUD }, { alg });
      await expectNotAuthorized(v.verify(pool(), OIDC, token, now()), /algorithm is not allowed/);
    }
    expect(idp.requests).toBe(before);
  });

  it('a Cognito access token', async () => {
    const v = new LoginVerifier(config);
    const token = await idp.mint({ sub: 'u', aud: COGNITO_CLIENT, client_id: COGNITO_CLIENT, token_use: 'access' });
    await expectNotAuthorized(v.verify(pool(), COGNITO, token, now()), /ID tokens/);
  });

  it('a token without a subject', async () => {
    const v = new LoginVerifier(config);
    const token = await idp.mint({ sub: undefined as unknown as string, aud: OIDC_AUD });
    await expectNotAuthorized(v.verify(pool(), OIDC, token, now()), /no subject/);
  });

  it('a token without an expiry', async () => {
    const v = new LoginVerifier(config);
    const token = await idp.mint({ sub: 'u', aud: OIDC_AUD, exp: undefined as unknown as number });
    await expectNotAuthorized(v.verify(pool(), OIDC, token, now()), /no expiry/);
  });

  it('garbage, and never echoes the token', async () => {
    const v = new LoginVerifier(config);
    for (const token of ['not-a-jwt', 'a.b.c', 'eyJhbGciOiJSUzI1NiJ9.e30.AAAA-secret-ish']) {
      const e = await refusal(v.verify(pool(), OIDC, token, now()));
      expect(e.code).toBe('NotAuthorizedException');
      expect(e.message).toMatch(/malformed|signature|not published/);
      expect(e.message).not.toContain(token);
    }
  });

  it('with ExternalServiceException when the issuer is down', async () => {
    const down = await startOidcIssuer();
    const token = await down.mint({ sub: 'u', aud: OIDC_AUD });
    await down.close();
    const v = new LoginVerifier({ [OIDC]: { issuer: down.issuer, audiences: [OIDC_AUD] } });
    const e = await refusal(v.verify(pool(), OIDC, token, now()));
    expect(e.code).toBe('ExternalServiceException');
    expect(e.message).toContain(OIDC);
  });

  it('with ExternalServiceException when the JWKS cannot be fetched', async () => {
    const v = new LoginVerifier({ [OIDC]: { issuer: idp.issuer, jwksUri: `${idp.issuer}/missing.json`, audiences: [OIDC_AUD] } });
    const token = await idp.mint({ sub: 'u', aud: OIDC_AUD });
    expect((await refusal(v.verify(pool(), OIDC, token, now()))).code).toBe('ExternalServiceException');
  });
});

describe('LoginVerifier issuer discovery and keys', () => {
  it('fetches the discovery document and JWKS once, then serves from cache', async () => {
    const v = new LoginVerifier(config);
    const start = idp.paths.length;
    for (let i = 0; i < 3; i++) {
      const token = await idp.mint({ sub: `u${i}`, aud: OIDC_AUD });
      await v.verify(pool(), OIDC, token, now());
    }
    expect(idp.paths.slice(start)).toEqual(['/.well-known/openid-configuration', '/jwks.json']);
  });

  it('uses the configured jwksUri without discovery', async () => {
    const v = new LoginVerifier({ [OIDC]: { issuer: idp.issuer, jwksUri: idp.jwksUri, audiences: [OIDC_AUD] } });
    const start = idp.paths.length;
    await v.verify(pool(), OIDC, await idp.mint({ sub: 'u', aud: OIDC_AUD }), now());
    expect(idp.paths.slice(start)).toEqual(['/jwks.json']);
  });

  it('picks up a key rotation at the issuer (unknown kid refetches the JWKS)', async () => {
    const issuer = await startOidcIssuer();
    try {
      const v = new LoginVerifier({ [OIDC]: { issuer: issuer.issuer, audiences: [OIDC_AUD] } }, { cooldownMs: 0 });
      const before = await issuer.mint({ sub: 'u', aud: OIDC_AUD });
      await v.verify(pool(), OIDC, before, now());
      await issuer.rotate();
      const after = await issuer.mint({ sub: 'u', aud: OIDC_AUD });
      await expect(v.verify(pool(), OIDC, after, now())).resolves.toMatchObject({ subject: 'u' });
      await expect(v.verify(pool(), OIDC, before, now())).resolves.toMatchObject({ subject: 'u' });
      expect(issuer.paths.filter((p) => p === '/jwks.json')).toHaveLength(2);
      expect(issuer.paths.filter((p) => p === '/.well-known/openid-configuration')).toHaveLength(1);
    } finally {
      await issuer.close();
    }
  });

  it('defaults an unconfigured Cognito user pool to its real issuer URL', async () => {
    const urls: string[] = [];
    const fetch = (async (input: string | URL | Request) => {
      urls.push(String(input));
      throw new TypeError('fetch failed');
    }) as typeof globalThis.fetch;
    const v = new LoginVerifier({}, { fetch });
    const token = await idp.mint({ sub: 'u', aud: COGNITO_CLIENT });
    expect((await refusal(v.verify(pool(), COGNITO, token, now()))).code).toBe('ExternalServiceException');
    expect(urls).toEqual([`https://${COGNITO}/.well-known/openid-configuration`]);
  });

  it('does not cache a failed discovery', async () => {
    let calls = 0;
    const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
      calls++;
      if (calls === 1) return new Response('busy', { status: 503 });
      return globalThis.fetch(input, init);
    }) as typeof globalThis.fetch;
    const v = new LoginVerifier(config, { fetch });
    const token = await idp.mint({ sub: 'u', aud: OIDC_AUD });
    expect((await refusal(v.verify(pool(), OIDC, token, now()))).message).toMatch(/HTTP 503/);
    await expect(v.verify(pool(), OIDC, token, now())).resolves.toMatchObject({ subject: 'u' });
  });
});

describe('parseLoginProvidersConfig', () => {
  it('parses providers', () => {
    const text = JSON.stringify({
      [OIDC]: { issuer: 'https://login.example.com', audiences: ['a', 'b'] },
      [COGNITO]: { issuer: `https://${COGNITO}`, jwksUri: `https://${COGNITO}/.well-known/jwks.json` },
    });
    expect(parseLoginProvidersConfig(text)).toEqual({
      [OIDC]: { issuer: 'https://login.example.com', audiences: ['a', 'b'] },
      [COGNITO]: { issuer: `https://${COGNITO}`, jwksUri: `https://${COGNITO}/.well-known/jwks.json` },
    });
    expect(parseLoginProvidersConfig('{}')).toEqual({});
  });

  it.each([
    ['not json', /not valid JSON/],
    ['[]', /JSON object keyed by provider name/],
    ['{"p": "https://x"}', /provider 'p' must be an object/],
    ['{"p": {}}', /provider 'p': issuer must be an http\(s\) URL/],
    ['{"p": {"issuer": "ftp://x"}}', /issuer must be an http\(s\) URL/],
    ['{"p": {"issuer": "https://x?a=1"}}', /query or fragment/],
    ['{"p": {"issuer": "https://x", "jwksUri": "nope"}}', /jwksUri must be an http\(s\) URL/],
    ['{"p": {"issuer": "https://x", "audiences": []}}', /audiences must be a non-empty array/],
    ['{"p": {"issuer": "https://x", "audiences": [""]}}', /audiences must be a non-empty array/],
    ['{"p": {"issuer": "https://x", "audience": ["a"]}}', /unknown field\(s\) audience/],
    ['{"": {"issuer": "https://x"}}', /provider name must be 1-128/],
  ])('rejects %s', (text, message) => {
    expect(() => parseLoginProvidersConfig(text)).toThrow(message);
  });
});
