/**
 * SigV4 failures through the real server, as the v3 SDK and raw requests see them (SPEC §1, §13.1; WIRE §1.3, §2),
 * and the requests the official clients signed during the recording (test/fixtures/signed-requests.json) replayed
 * over HTTP with the server's clock at their signing time. Also X-HTTP-Method-Override (SPEC §1): the AWS SDK for
 * Unity 1.0.x sends every Cognito Sync call as POST, names the real method in that header (a GET carries the body
 * `{}`), and signs the request with the real method.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListRecordsCommand } from '@aws-sdk/client-cognito-sync';
import { CreateIdentityPoolCommand, GetIdCommand } from '@aws-sdk/client-cognito-identity';
import type { CredentialResolver } from '../../src/auth/sigv4.js';
import { clients, manualClock, poolWithIdentity, startServer, type TestServer } from '../helpers/server.js';
import { sharedServer } from '../helpers/shared-server.js';
import { expectError } from '../api/sync-helpers.js';
import { datasetPath, expectAwsError, raw, send, signRequest, type RawResponse } from './raw-http.js';

const MINUTE = 60_000;
const SIGNATURE_ERRORS = [
  'InvalidSignatureException', 'IncompleteSignatureException', 'UnrecognizedClientException',
  'MissingAuthenticationTokenException', 'ExpiredTokenException',
];

const t = sharedServer();
let poolId: string;
let identityId: string;

beforeAll(async () => {
  ({ poolId, identityId } = await poolWithIdentity(t));
});

const listRecords = (server: TestServer, credentials: Parameters<typeof clients>[1] = server.credentials, extra: { systemClockOffset?: number } = {}) => {
  const { sync } = clients(server, credentials);
  if (extra.systemClockOffset !== undefined) sync.config.systemClockOffset = extra.systemClockOffset;
  return sync.send(new ListRecordsCommand({ IdentityPoolId: poolId, IdentityId: identityId, DatasetName: 'ds' }));
};

describe('SigV4 failures with the v3 SDK', () => {
  it('signed correctly: accepted', async () => {
    await expect(listRecords(t)).resolves.toMatchObject({ DatasetExists: false });
  });

  it('an unknown access key → 403 UnrecognizedClientException', async () => {
    await expectError(listRecords(t, { accessKeyId: 'AKIAUNKNOWNKEY000000', secretAccessKey: t.credentials.secretAccessKey }),
      'UnrecognizedClientException', 403, 'The security token included in the request is invalid.');
    // Cognito Identity (awsJson1_1) answers front-end errors with 400.
    const { identity } = clients(t, { accessKeyId: 'AKIAUNKNOWNKEY000000', secretAccessKey: 'x' });
    await expectError(identity.send(new CreateIdentityPoolCommand({ IdentityPoolName: 'p', AllowUnauthenticatedIdentities: true })),
      'UnrecognizedClientException', 400);
  });

  it('the developer key with a security token (as if temporary) → 403 UnrecognizedClientException', async () => {
    await expectError(listRecords(t, { ...t.credentials, sessionToken: 'not-a-token-this-server-issued' }),
      'UnrecognizedClientException', 403, 'The security token included in the request is invalid.');
  });

  it('the wrong secret → 403 InvalidSignatureException', async () => {
    await expectError(listRecords(t, { accessKeyId: t.credentials.accessKeyId, secretAccessKey: 'not-the-secret' }),
      'InvalidSignatureException', 403, 'The request signature we calculated does not match the signature you provided');
  });

  it('a server clock 20 minutes ahead of the client → 403 InvalidSignatureException "Signature expired"', async () => {
    const ahead = await startServer({ clock: manualClock(Date.now() + 20 * MINUTE) });
    try {
      const pool = await poolWithIdentity(ahead).catch((e: unknown) => e);
      // Even creating the pool fails: the signed CreateIdentityPool is 20 minutes old for this server.
      expect((pool as { name?: string }).name).toBe('InvalidSignatureException');
      await expectError(listRecords(ahead), 'InvalidSignatureException', 403, /^Signature expired: \d{8}T\d{6}Z is now earlier than/);
    } finally {
      await ahead.close();
    }
  });

  it('a client clock off by 20 minutes (systemClockOffset) → 403 expired or not yet current', async () => {
    await expectError(listRecords(t, t.credentials, { systemClockOffset: -20 * MINUTE }), 'InvalidSignatureException', 403, 'Signature expired');
    await expectError(listRecords(t, t.credentials, { systemClockOffset: 20 * MINUTE }), 'InvalidSignatureException', 403, 'Signature not yet current');
    // Within AWS's 15-minute window the request passes.
    await expect(listRecords(t, t.credentials, { systemClockOffset: -10 * MINUTE })).resolves.toMatchObject({ DatasetExists: false });
  });
});

describe('SigV4 failures with raw requests', () => {
  const updatePath = () => datasetPath(poolId, identityId, 'tamper');
  const body = '{"SyncSessionToken":"abc","RecordPatches":[{"Op":"replace","Key":"k","Value":"1","SyncCount":0}]}';
  const tampered = body.replace('"1"', '"2"');

  it('a stale X-Amz-Date → 403 InvalidSignatureException "Signature expired"', async () => {
    const res = await raw(t, {
      method: 'GET', path: `${datasetPath(poolId, identityId, 'ds')}/records`, sign: { date: new Date(Date.now() - 20 * MINUTE) },
    });
    expectAwsError(res, 403, 'InvalidSignatureException', 'Signature expired');
  });

  it('a body changed after signing → 403, with X-Amz-Content-Sha256 (v2/v3) and without (boto3/CLI)', async () => {
    for (const contentSha256 of [true, false]) {
      const headers = { 'Content-Type': 'application/json' };
      const ok = await raw(t, { method: 'POST', path: updatePath(), headers, body, sign: { contentSha256 } });
      // Signed correctly it gets past authentication (the made-up session token is then refused).
      expectAwsError(ok, 400, 'InvalidParameterException', 'SyncSessionToken');
      const res = await raw(t, { method: 'POST', path: updatePath(), headers, body, sendBody: tampered, sign: { contentSha256 } });
      expectAwsError(res, 403, 'InvalidSignatureException', 'does not match');
    }
  });

  it('a changed query or path after signing → 403 InvalidSignatureException', async () => {
    const path = `${datasetPath(poolId, identityId, 'ds')}/records`;
    const headers = await signRequest(t, 'GET', path, { lastSyncCount: '0' }, {}, Buffer.alloc(0), {});
    const good = await send(t.endpoint, 'GET', `${path}?lastSyncCount=0`, headers, Buffer.alloc(0));
    expect(good.status, good.text).toBe(200);
    expectAwsError(await send(t.endpoint, 'GET', `${path}?lastSyncCount=1`, headers, Buffer.alloc(0)), 403, 'InvalidSignatureException');
    expectAwsError(await send(t.endpoint, 'GET', path.replace('/ds/', '/dt/'), headers, Buffer.alloc(0)), 403, 'InvalidSignatureException');
  });

  it('a raw `+` in the query is a space, as the Android SDK sends one and signs it (`%20`)', async () => {
    const path = `${datasetPath(poolId, identityId, 'ds')}/records`;
    const headers = await signRequest(t, 'GET', path, { nextToken: 'a b' }, {}, Buffer.alloc(0), {});
    // Past the signature check, the value read is the signed one (the made-up token is then refused).
    const res = await send(t.endpoint, 'GET', `${path}?nextToken=a+b`, headers, Buffer.alloc(0));
    expectAwsError(res, 400, 'InvalidParameterException', "Invalid NextToken: 'a b'");
    // A plus the client means is sent and signed as `%2B`, so a `%2B` on the wire is not the signed space.
    const plus = await send(t.endpoint, 'GET', `${path}?nextToken=a%2Bb`, headers, Buffer.alloc(0));
    expectAwsError(plus, 403, 'InvalidSignatureException');
  });

  it('the absolute form of the request target (some forward proxies send it) is verified on its path', async () => {
    const path = `${datasetPath(poolId, identityId, 'ds')}/records`;
    const headers = await signRequest(t, 'GET', path, { lastSyncCount: '0' }, {}, Buffer.alloc(0), {});
    const res = await send(t.endpoint, 'GET', `${t.endpoint}${path}?lastSyncCount=0`, headers, Buffer.alloc(0));
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({ DatasetExists: false });
  });

  it('no Authorization → 403 MissingAuthenticationTokenException', async () => {
    const res = await raw(t, { method: 'GET', path: `${datasetPath(poolId, identityId, 'ds')}/records` });
    expectAwsError(res, 403, 'MissingAuthenticationTokenException', 'Request is missing Authentication Token');
  });

  it('a presigned URL (signature in the query, no Authorization) → 403 saying query authentication is not supported', async () => {
    const query = 'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20261128%2Fus-east-1%2Fcognito-sync%2Faws4_request'
      + '&X-Amz-Date=20261128T000000Z&X-Amz-SignedHeaders=host&X-Amz-Signature=00';
    const res = await raw(t, { method: 'GET', path: `${datasetPath(poolId, identityId, 'ds')}/records?${query}` });
    expectAwsError(res, 403, 'IncompleteSignatureException', 'Query-string authentication');
  });

  it('GetId unsigned is accepted; CreateIdentityPool unsigned is refused with 400 and a body __type', async () => {
    const headers = { 'Content-Type': 'application/x-amz-json-1.1' };
    const getId = await raw(t, {
      method: 'POST', path: '/', headers: { ...headers, 'X-Amz-Target': 'AWSCognitoIdentityService.GetId' },
      body: JSON.stringify({ IdentityPoolId: poolId }),
    });
    expect(getId.status, getId.text).toBe(200);
    expect((getId.json as { IdentityId: string }).IdentityId).toMatch(/^us-east-1:/);

    const create = await raw(t, {
      method: 'POST', path: '/', headers: { ...headers, 'X-Amz-Target': 'AWSCognitoIdentityService.CreateIdentityPool' },
      body: JSON.stringify({ IdentityPoolName: 'unsigned', AllowUnauthenticatedIdentities: true }),
    });
    expectAwsError(create, 400, 'MissingAuthenticationTokenException');
    expect(create.header('content-type')).toMatch(/^application\/x-amz-json-1\.1/);

    // The v3 SDK sends GetId unsigned even with credentials configured (WIRE §2), so wrong ones do not matter.
    const { identity } = clients(t, { accessKeyId: 'AKIAUNKNOWNKEY000000', secretAccessKey: 'x' });
    await expect(identity.send(new GetIdCommand({ IdentityPoolId: poolId }))).resolves.toMatchObject({ IdentityId: expect.any(String) });
  });

  it('a Cognito Identity call whose X-Amz-Target is not signed → 400 InvalidSignatureException, so its signature cannot be replayed as another operation', async () => {
    const call = (target: string, unsigned: string[]) => raw(t, {
      method: 'POST', path: '/',
      headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': `AWSCognitoIdentityService.${target}` },
      body: JSON.stringify({ IdentityPoolId: poolId }),
      sign: { service: 'cognito-identity', unsigned },
    });
    expect((await call('DescribeIdentityPool', [])).status).toBe(200);
    const refused = await call('DeleteIdentityPool', ['X-Amz-Target']);
    expectAwsError(refused, 400, 'InvalidSignatureException', "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization.");
    expect((await call('DescribeIdentityPool', [])).status, 'the pool is still there').toBe(200);
  });
});

/** The shared recording of what the official clients signed (see the fixture's "about"). */
interface Fixture {
  credentials: Record<string, { secretAccessKey: string; sessionToken?: string }>;
  requests: Array<{
    client: string; op: string; label: string | null; signed: boolean; method: string; url: string;
    headers: Array<[string, string]>; body: string;
  }>;
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/signed-requests.json', import.meta.url), 'utf8')) as Fixture;
const ADMIN_KEY = 'AKIACAPTUREADMINKEY1';
const TEMP_KEY = 'ASIACAPTURETEMPKEY01';
const headerOf = (r: Fixture['requests'][number], name: string) => r.headers.find(([n]) => n.toLowerCase() === name)?.[1] ?? '';
const signingTime = (r: Fixture['requests'][number]) => {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(headerOf(r, 'x-amz-date'));
  if (!m) throw new Error(`no X-Amz-Date in ${r.client} ${r.op}`);
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  return Date.UTC(y, mo - 1, d, h, mi, s);
};
const signedWith = (key: string) => fixture.requests.filter((r) => r.signed && headerOf(r, 'authorization').includes(`Credential=${key}/`));

describe('captured requests of the official clients, replayed over HTTP', () => {
  const clock = manualClock();
  let replay: TestServer;
  beforeAll(async () => {
    const temp = fixture.credentials[TEMP_KEY];
    const admin = fixture.credentials[ADMIN_KEY];
    if (!temp?.sessionToken || !admin) throw new Error('fixture credentials missing');
    // The temporary key stands for an identity (the recording's pool and identity), as Cognito Identity would issue.
    const identityCredentials: CredentialResolver = (accessKeyId, sessionToken) =>
      accessKeyId === TEMP_KEY && sessionToken === temp.sessionToken
        ? {
            secretAccessKey: temp.secretAccessKey,
            principal: {
              kind: 'identity', accessKeyId, accountId: '123456789012',
              identityId: 'us-east-1:00000000-1111-2222-3333-444444444444',
              identityPoolId: 'us-east-1:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee',
            },
          }
        : undefined;
    replay = await startServer({
      clock,
      developerCredentials: { accessKeyId: ADMIN_KEY, secretAccessKey: admin.secretAccessKey },
      credentials: identityCredentials,
    });
  });
  afterAll(() => replay.close());

  const replayOne = (r: Fixture['requests'][number], body = r.body) => {
    clock.set(signingTime(r));
    return send(replay.endpoint, r.method, r.url, r.headers, Buffer.from(body, 'utf8'));
  };

  it('the fixture holds requests signed with the long-term admin key by every client', () => {
    expect(new Set(signedWith(ADMIN_KEY).map((r) => r.client))).toEqual(new Set(['v3', 'v2', 'boto3', 'cli']));
  });

  it.each(signedWith(ADMIN_KEY).map((r) => [`${r.client} ${r.op} (${r.label ?? ''})`, r] as const))(
    'long-term key: %s passes authentication', async (_name, r) => {
      const res = await replayOne(r);
      expect(SIGNATURE_ERRORS, `${res.status} ${res.text}`).not.toContain(res.header('x-amzn-ErrorType') ?? '');
      expect(res.header('x-amzn-RequestId')).toBeTruthy();
      expect([undefined, 'NotAuthorizedException', 'ResourceNotFoundException'], res.text).toContain(res.header('x-amzn-ErrorType'));
      if (r.op === 'CreateIdentityPool') expect(res.status, res.text).toBe(200);
    });

  it.each(signedWith(TEMP_KEY).map((r) => [`${r.client} ${r.op}`, r] as const))(
    'temporary key: %s passes authentication', async (_name, r) => {
      const res = await replayOne(r);
      expect(SIGNATURE_ERRORS, `${res.status} ${res.text}`).not.toContain(res.header('x-amzn-ErrorType') ?? '');
      // Past authentication, the recording's pool does not exist here, or the identity may not call a developer operation.
      expect([undefined, 'NotAuthorizedException', 'ResourceNotFoundException'], res.text).toContain(res.header('x-amzn-ErrorType'));
    });

  it('a replayed request is still verified: changed body, or a clock 16 minutes on, fails', async () => {
    const update = signedWith(ADMIN_KEY).find((r) => r.client === 'boto3' && r.op === 'UpdateRecords');
    if (!update) throw new Error('fixture lacks the boto3 UpdateRecords request');
    expect(update.body).toContain('"Key": "a"');
    const changed = await replayOne(update, update.body.replace('"Key": "a"', '"Key": "b"'));
    expect(changed.status).toBe(403);
    expect(changed.header('x-amzn-ErrorType')).toBe('InvalidSignatureException');

    const list = signedWith(ADMIN_KEY).find((r) => r.client === 'cli' && r.op === 'ListRecords');
    if (!list) throw new Error('fixture lacks the CLI ListRecords request');
    clock.set(signingTime(list) + 16 * MINUTE);
    const late = await send(replay.endpoint, list.method, list.url, list.headers, Buffer.alloc(0));
    expectAwsError(late, 403, 'InvalidSignatureException', 'Signature expired');
  });
});

/** A request as Unity sends it: POST on the wire, signed with `method`. */
async function unity(method: string, path: string, body: string, query: Record<string, string> = {}): Promise<RawResponse> {
  const headers = await signRequest(t, method, path, query, {
    'content-type': 'application/x-amz-json-1.1', 'x-http-method-override': method,
  }, Buffer.from(body), {});
  const queryText = new URLSearchParams(query).toString();
  return send(t.endpoint, 'POST', queryText ? `${path}?${queryText}` : path, headers, Buffer.from(body));
}

describe('X-HTTP-Method-Override', () => {
  it('runs ListRecords, DescribeDataset and DeleteDataset sent as POST with the real method in the header', async () => {
    const path = datasetPath(poolId, identityId, 'unity_save');
    const listed = await unity('GET', `${path}/records`, '{}', { lastSyncCount: '0' });
    expect(listed.status).toBe(200);
    expect(listed.json).toMatchObject({ Count: 0, DatasetExists: false });
    const token = (listed.json as { SyncSessionToken: string }).SyncSessionToken;

    const written = await unity('POST', path, JSON.stringify({
      SyncSessionToken: token, RecordPatches: [{ Op: 'replace', Key: 'level', Value: '3', SyncCount: 0 }],
    }));
    expect(written.status).toBe(200);

    const described = await unity('GET', path, '{}');
    expect(described.status).toBe(200);
    expect(described.json).toMatchObject({ Dataset: { DatasetName: 'unity_save', NumRecords: 1 } });

    expect((await unity('DELETE', path, '{}')).status).toBe(200);
    const gone = await unity('GET', path, '{}');
    expect(gone.status).toBe(404);
    expect(gone.header('x-amzn-ErrorType')).toBe('ResourceNotFoundException');
  });

  it('leaves a POST without the header as it was: the records path has no POST operation', async () => {
    const answer = await raw(t, { method: 'POST', path: `${datasetPath(poolId, identityId, 'unity_save')}/records`, body: '{}', sign: true });
    expect(answer.status).toBe(405);
  });
});
