/**
 * The HTTP edge seen byte by byte: malformed and unusual requests that real clients (or broken ones) send, and the
 * exact shape of every error answer (WIRE §1, §3; SPEC §1, §13). Requests are raw HTTP, signed with
 * @smithy/signature-v4 where the operation needs it.
 */
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { SetIdentityPoolConfigurationCommand } from '@aws-sdk/client-cognito-sync';
import type { CredentialResolver } from '../../src/auth/sigv4.js';
import { clients, poolWithIdentity, startServer, type TestServer } from '../helpers/server.js';
import { datasetPath, expectAwsError, raw, send, syncPath, type RawResponse } from './raw-http.js';

/** Log lines the server writes, parsed. */
const logLines: Array<Record<string, unknown>> = [];
const logStream = new Writable({
  write(chunk: Buffer, _encoding, done) {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) logLines.push(JSON.parse(line) as Record<string, unknown>);
    done();
  },
});

let t: TestServer;
let poolId: string;
let identityId: string;
let counter = 0;
const freshDataset = () => `wire_${++counter}`;

/** Temporary credentials standing for the test identity (Cognito Identity does not issue them yet). */
const IDENTITY_CREDENTIALS = {
  accessKeyId: 'ASIAWIREIDENTITY0001', secretAccessKey: 'wire-identity-secret', sessionToken: 'wire-session-token',
};
const identityCredentials: CredentialResolver = (accessKeyId, sessionToken) =>
  accessKeyId === IDENTITY_CREDENTIALS.accessKeyId && sessionToken === IDENTITY_CREDENTIALS.sessionToken
    ? {
        secretAccessKey: IDENTITY_CREDENTIALS.secretAccessKey,
        principal: { kind: 'identity', accessKeyId, identityId, identityPoolId: poolId, accountId: '123456789012' },
      }
    : undefined;

beforeAll(async () => {
  t = await startServer({ logger: pino({ level: 'info', base: null }, logStream), credentials: identityCredentials });
  ({ poolId, identityId } = await poolWithIdentity(t));
});
afterAll(() => t.close());
afterEach(() => { vi.restoreAllMocks(); });

const JSON_HEADERS = { 'Content-Type': 'application/json' };

async function listRecords(dataset: string, query: Record<string, string> = {}, headers: Record<string, string> = {}) {
  return raw(t, { method: 'GET', path: `${datasetPath(poolId, identityId, dataset)}/records`, query, headers, sign: true });
}

async function sessionToken(dataset: string): Promise<string> {
  const res = await listRecords(dataset);
  expect(res.status).toBe(200);
  return (res.json as { SyncSessionToken: string }).SyncSessionToken;
}

/** UpdateRecords with a fresh session token spliced into the body text at `$TOKEN`. */
async function updateRecords(dataset: string, bodyTemplate: string, options: { contentSha256?: boolean } = {}) {
  const token = await sessionToken(dataset);
  return raw(t, {
    method: 'POST',
    path: datasetPath(poolId, identityId, dataset),
    headers: JSON_HEADERS,
    body: bodyTemplate.replace('$TOKEN', token),
    sign: { contentSha256: options.contentSha256 ?? true },
  });
}

function expectJsonContentType(res: RawResponse, type = 'application/json') {
  expect(res.header('content-type')?.split(';')[0]).toBe(type);
}

describe('request bodies the server refuses', () => {
  it('malformed JSON on UpdateRecords → 400 SerializationException', async () => {
    const res = await updateRecords(freshDataset(), '{"SyncSessionToken": "$TOKEN", "RecordPatches": [');
    expectAwsError(res, 400, 'SerializationException', 'not valid JSON');
    expectJsonContentType(res);
  });

  it('a body that is not UTF-8, or a string holding half a surrogate pair → 400, and nothing is written', async () => {
    const dataset = freshDataset();
    const token = await sessionToken(dataset);
    const patch = (key: string, value: string) =>
      `{"SyncSessionToken":"${token}","RecordPatches":[{"Op":"replace","Key":"${key}","Value":"${value}","SyncCount":0}]}`;
    const update = (body: Buffer) =>
      raw(t, { method: 'POST', path: datasetPath(poolId, identityId, dataset), headers: JSON_HEADERS, body, sign: true });
    // "é" as the single Latin-1 byte 0xE9: decoded, it would be stored as U+FFFD.
    expectAwsError(await update(Buffer.from(patch('k', 'caf\u00e9'), 'latin1')), 400, 'SerializationException', 'not valid UTF-8');
    // Valid JSON, but a key no UTF-8 store can hold: it would come back as U+FFFD and could never be updated.
    expectAwsError(await update(Buffer.from(patch('\\ud800', 'v'))), 400, 'InvalidParameterException',
      "at 'recordPatches.1.member.key' failed to satisfy constraint: Member must be well-formed Unicode");
    expectAwsError(await update(Buffer.from(patch('k', 'x\\udc00'))), 400, 'InvalidParameterException',
      "at 'recordPatches.1.member.value'");
    expect((await listRecords(dataset)).json).toMatchObject({ Count: 0, DatasetExists: false });
    expect((await update(Buffer.from(patch('\\ud83d\\ude00', 'caf\u00e9')))).status).toBe(200);
  });

  it('a JSON array (or scalar) instead of an object → 400 SerializationException', async () => {
    expectAwsError(await updateRecords(freshDataset(), '[{"SyncSessionToken": "$TOKEN"}]'), 400, 'SerializationException', 'JSON object');
    expectAwsError(await updateRecords(freshDataset(), '"$TOKEN"'), 400, 'SerializationException', 'JSON object');
    expectAwsError(await updateRecords(freshDataset(), 'null'), 400, 'SerializationException', 'JSON object');
  });

  it('wrong member types → 400 naming the member', async () => {
    const syncCountAsString = await updateRecords(freshDataset(),
      '{"SyncSessionToken":"$TOKEN","RecordPatches":[{"Op":"replace","Key":"k","Value":"v","SyncCount":"0"}]}');
    expectAwsError(syncCountAsString, 400, 'SerializationException', 'recordPatches.1.member.syncCount');

    const patchesAsObject = await updateRecords(freshDataset(),
      '{"SyncSessionToken":"$TOKEN","RecordPatches":{"Op":"replace","Key":"k","Value":"v","SyncCount":0}}');
    expectAwsError(patchesAsObject, 400, 'SerializationException', "'recordPatches'");

    const valueAsNumber = await updateRecords(freshDataset(),
      '{"SyncSessionToken":"$TOKEN","RecordPatches":[{"Op":"replace","Key":"k","Value":42,"SyncCount":0}]}');
    expectAwsError(valueAsNumber, 400, 'SerializationException', 'recordPatches.1.member.value');

    const dateAsString = await updateRecords(freshDataset(),
      '{"SyncSessionToken":"$TOKEN","RecordPatches":[{"Op":"replace","Key":"k","Value":"v","SyncCount":0,"DeviceLastModifiedDate":"2024-01-02T03:04:05Z"}]}');
    expectAwsError(dateAsString, 400, 'SerializationException', 'recordPatches.1.member.deviceLastModifiedDate');
  });

  it('null inside a list or as a map value → 400 naming it (not a 500): InvalidParameterException, ValidationException', async () => {
    expectAwsError(await updateRecords(freshDataset(), '{"SyncSessionToken":"$TOKEN","RecordPatches":[null]}'),
      400, 'InvalidParameterException', "Value null at 'recordPatches.1.member' failed to satisfy constraint: Member must not be null");
    const pool = await raw(t, {
      method: 'POST', path: '/', sign: { service: 'cognito-identity' },
      headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'AWSCognitoIdentityService.CreateIdentityPool' },
      body: JSON.stringify({ IdentityPoolName: 'p', AllowUnauthenticatedIdentities: true, CognitoIdentityProviders: [null], IdentityPoolTags: { team: null } }),
    });
    const body = expectAwsError(pool, 400, 'ValidationException', '2 validation errors detected');
    expect(body.message).toContain("Value null at 'cognitoIdentityProviders.1.member'");
    expect(body.message).toContain("Value null at 'identityPoolTags.team.value'");
  });

  it('a timestamp outside the range of a date → 400 SerializationException (not a 500)', async () => {
    const res = await updateRecords(freshDataset(),
      '{"SyncSessionToken":"$TOKEN","RecordPatches":[{"Op":"replace","Key":"k","Value":"v","SyncCount":0,"DeviceLastModifiedDate":1e20}]}');
    expectAwsError(res, 400, 'SerializationException', 'recordPatches.1.member.deviceLastModifiedDate');
    // The far ends of the range still work, negative (before 1970) included.
    for (const when of [-5, 8.64e12]) {
      const ok = await updateRecords(freshDataset(),
        `{"SyncSessionToken":"$TOKEN","RecordPatches":[{"Op":"replace","Key":"k","Value":"v","SyncCount":0,"DeviceLastModifiedDate":${when}}]}`);
      expect(ok.status, ok.text).toBe(200);
      expect(ok.json).toMatchObject({ Records: [{ DeviceLastModifiedDate: when }] });
    }
  });

  it('a body larger than maxBodyBytes → 413 RequestEntityTooLargeException, on both protocols', async () => {
    const small = await startServer({ config: { maxBodyBytes: 1024 } });
    try {
      const big = JSON.stringify({ SyncSessionToken: 'x', RecordPatches: [{ Op: 'replace', Key: 'k', Value: 'v'.repeat(2000), SyncCount: 0 }] });
      const sync = await raw(small, {
        method: 'POST', path: datasetPath('us-east-1:00000000-0000-0000-0000-000000000000', 'us-east-1:00000000-0000-0000-0000-000000000001', 'ds'),
        headers: JSON_HEADERS, body: big, sign: { credentials: small.credentials },
      });
      expectAwsError(sync, 413, 'RequestEntityTooLargeException');
      expectJsonContentType(sync);

      const identity = await raw(small, {
        method: 'POST', path: '/',
        headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'AWSCognitoIdentityService.GetId' },
        body: JSON.stringify({ IdentityPoolId: 'x'.repeat(2000) }),
      });
      expectAwsError(identity, 413, 'RequestEntityTooLargeException');
      expectJsonContentType(identity, 'application/x-amz-json-1.1');

      // Just under the limit is fine (it fails later, for an unrelated reason).
      const fits = await raw(small, {
        method: 'POST', path: '/',
        headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'AWSCognitoIdentityService.GetId' },
        body: JSON.stringify({ IdentityPoolId: `us-east-1:${'0'.repeat(36)}`, Logins: { a: 'b'.repeat(800) } }),
      });
      expect(fits.header('x-amzn-ErrorType')).not.toBe('RequestEntityTooLargeException');
    } finally {
      await small.close();
    }
  });
});

describe('requests the HTTP parser refuses', () => {
  // No official client sends these; a proxy or a broken client might. They get the AWS error shape too.
  it('Content-Length together with Transfer-Encoding → 400 SerializationException', async () => {
    const res = await send(t.endpoint, 'POST', '/', {
      'Content-Length': '2', 'Transfer-Encoding': 'chunked', 'X-Amz-Target': 'AWSCognitoIdentityService.GetId',
    }, Buffer.from('2\r\n{}\r\n0\r\n\r\n'));
    expectAwsError(res, 400, 'SerializationException', 'not valid HTTP');
    expectJsonContentType(res);
  });

  it('a header section larger than Node accepts → 413 RequestEntityTooLargeException', async () => {
    const res = await send(t.endpoint, 'GET', `${datasetPath(poolId, identityId, 'd')}/records`, {
      'x-amz-client-context': 'c'.repeat(20_000),
    }, Buffer.alloc(0));
    expectAwsError(res, 413, 'RequestEntityTooLargeException', 'headers');
  });

  it('a body sent chunked (no Content-Length) is limited like any other', async () => {
    const small = await startServer({ config: { maxBodyBytes: 1024 } });
    try {
      const headers = { 'Transfer-Encoding': 'chunked', 'X-Amz-Target': 'AWSCognitoIdentityService.GetId' };
      const big = await send(small.endpoint, 'POST', '/', headers, Buffer.from(JSON.stringify({ IdentityPoolId: 'x'.repeat(3000) })));
      expectAwsError(big, 413, 'RequestEntityTooLargeException');
      const fine = await send(small.endpoint, 'POST', '/', headers, Buffer.from('{"IdentityPoolId":"us-east-1:00000000-0000-0000-0000-000000000000"}'));
      expectAwsError(fine, 400, 'ResourceNotFoundException');
    } finally {
      await small.close();
    }
  });
});

describe('requests node:http would answer itself', () => {
  /** The bytes the server sends back for `request`, until it closes the connection or 2 s pass. */
  async function exchangeText(request: string): Promise<string> {
    const socket = connect(Number(new URL(t.endpoint).port), '127.0.0.1');
    socket.on('error', () => {});
    let received = '';
    socket.on('data', (d: Buffer) => { received += d.toString('latin1'); });
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.write(request);
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 2000))]);
    socket.destroy();
    return received;
  }

  it('a request without Host is served, so it gets the AWS error shape', async () => {
    const answer = await exchangeText(`GET ${datasetPath(poolId, identityId, 'd')}/records HTTP/1.1\r\nConnection: close\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 403 /);
    expect(answer).toMatch(/\r\nx-amzn-errortype: MissingAuthenticationTokenException\r\n/i);
  });

  it('an Expect other than 100-continue is ignored and the request served', async () => {
    const body = JSON.stringify({ IdentityPoolId: poolId });
    const answer = await exchangeText('POST / HTTP/1.1\r\nHost: x\r\nExpect: something-else\r\n' +
      'X-Amz-Target: AWSCognitoIdentityService.GetId\r\nContent-Type: application/x-amz-json-1.1\r\n' +
      `Connection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(answer).toContain('"IdentityId":"us-east-1:');
  });

  it('CONNECT → 405 MethodNotAllowedException, then the connection closes', async () => {
    const answer = await exchangeText('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 405 /);
    expect(answer).toMatch(/\r\nx-amzn-ErrorType: MethodNotAllowedException\r\n/);
    expect(answer).toContain('"__type":"MethodNotAllowedException"');
  });
});

describe('routing errors', () => {
  it('x-amzn-RequestId and x-amzn-ErrorType go out in AWS\'s case (the Android SDK looks them up case-sensitively)', async () => {
    const failed = await updateRecords(freshDataset(), '{"SyncSessionToken": "$TOKEN", "RecordPatches": [');
    expectAwsError(failed, 400, 'SerializationException');
    const unknownRoute = await raw(t, { method: 'GET', path: '/nowhere' });
    const unsigned = await raw(t, { method: 'GET', path: `${datasetPath(poolId, identityId, 'ds')}/records` });
    for (const res of [failed, unknownRoute, unsigned]) {
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.headerNames).toEqual(expect.arrayContaining(['x-amzn-RequestId', 'x-amzn-ErrorType']));
    }
    const listed = await raw(t, { method: 'GET', path: `${datasetPath(poolId, identityId, freshDataset())}/records`, sign: true });
    expect(listed.status, listed.text).toBe(200);
    expect(listed.headerNames).toContain('x-amzn-RequestId');
  });

  it('an unknown route → 404 UnknownOperationException', async () => {
    for (const path of ['/nope', '/identitypools/p/unknown', `${datasetPath(poolId, identityId, 'd')}/records/extra`]) {
      const res = await raw(t, { method: 'GET', path, sign: true });
      expectAwsError(res, 404, 'UnknownOperationException');
      expectJsonContentType(res);
    }
  });

  it('a wrong method on a known path → 405 MethodNotAllowedException with Allow', async () => {
    const res = await raw(t, { method: 'PUT', path: datasetPath(poolId, identityId, 'd'), headers: JSON_HEADERS, body: '{}', sign: true });
    expectAwsError(res, 405, 'MethodNotAllowedException');
    expect(res.header('allow')?.split(/,\s*/).sort()).toEqual(['DELETE', 'GET', 'POST']);

    const records = await raw(t, { method: 'DELETE', path: `${datasetPath(poolId, identityId, 'd')}/records`, sign: true });
    expectAwsError(records, 405, 'MethodNotAllowedException');
    expect(records.header('allow')).toBe('GET');

    // HEAD on a GET path is no exception (an answer to HEAD has no body, so the header carries the error).
    const head = await raw(t, { method: 'HEAD', path: `${datasetPath(poolId, identityId, 'd')}/records`, sign: true });
    expect([head.status, head.header('x-amzn-ErrorType'), head.header('allow')]).toEqual([405, 'MethodNotAllowedException', 'GET']);

    // The Cognito Identity endpoint takes POST only.
    for (const method of ['GET', 'PUT']) {
      const identity = await raw(t, { method, path: '/', sign: true });
      expectAwsError(identity, 405, 'MethodNotAllowedException');
      expect(identity.header('allow')).toBe('POST');
    }
  });

  it('an unknown or missing X-Amz-Target on POST / → 400 UnknownOperationException with the type in the body', async () => {
    for (const target of ['AWSCognitoIdentityService.NoSuchThing', 'AWSCognitoSyncService.ListRecords', undefined]) {
      const res = await raw(t, {
        method: 'POST', path: '/',
        headers: { 'Content-Type': 'application/x-amz-json-1.1', ...(target ? { 'X-Amz-Target': target } : {}) },
        body: '{}',
      });
      // boto3 and the CLI read only the body __type for awsJson (WIRE §3).
      expectAwsError(res, 400, 'UnknownOperationException');
      expectJsonContentType(res, 'application/x-amz-json-1.1');
    }
  });

  it('an X-Amz-Target naming a built-in object property is an unknown operation too, signed or not', async () => {
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf']) {
      for (const sign of [true, false]) {
        const res = await raw(t, {
          method: 'POST', path: '/', sign,
          headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': `AWSCognitoIdentityService.${name}` },
          body: '{}',
        });
        expectAwsError(res, 400, 'UnknownOperationException');
      }
    }
  });

  it('query integers that are not integers → 400 InvalidParameterException', async () => {
    for (const query of [
      { maxResults: 'abc' }, { lastSyncCount: '1.5' }, { lastSyncCount: '' }, { maxResults: '1e3x' }, { maxResults: '1e3' },
      { maxResults: '0x10' }, { lastSyncCount: ' 7' },
    ]) {
      expectAwsError(await listRecords(freshDataset(), query), 400, 'InvalidParameterException', 'Member must be an integer');
    }
    const datasets = await raw(t, {
      method: 'GET', path: syncPath('identitypools', poolId, 'identities', identityId, 'datasets'),
      query: { maxResults: 'abc' }, sign: true,
    });
    expectAwsError(datasets, 400, 'InvalidParameterException', "'maxResults'");
  });

  it('a bad query integer is reported with the request\'s other violations, in one answer', async () => {
    const res = await raw(t, {
      method: 'GET', path: `${datasetPath('bad!pool', identityId, 'ds')}/records`,
      query: { maxResults: 'abc', lastSyncCount: 'xyz' }, sign: true,
    });
    const body = expectAwsError(res, 400, 'InvalidParameterException', /^3 validation errors detected: /);
    for (const member of ['identityPoolId', 'maxResults', 'lastSyncCount']) expect(body.message).toContain(`at '${member}'`);
  });

  it('a negative SyncCount or a key sent twice is refused before the identity and the token are looked at', async () => {
    const unknownIdentity = `${poolId.split(':')[0]}:00000000-0000-4000-8000-000000000000`;
    for (const patches of [
      '[{"Op":"replace","Key":"k","Value":"v","SyncCount":-1}]',
      '[{"Op":"replace","Key":"k","Value":"v","SyncCount":0},{"Op":"remove","Key":"k","SyncCount":0}]',
    ]) {
      const res = await raw(t, {
        method: 'POST', path: datasetPath(poolId, unknownIdentity, 'ds'), headers: JSON_HEADERS,
        body: `{"SyncSessionToken":"not-a-token","RecordPatches":${patches}}`, sign: true,
      });
      expectAwsError(res, 400, 'InvalidParameterException', /recordPatches\.1\.member\.syncCount|Duplicate key/);
    }
  });
});

describe('unexpected failures', () => {
  it('→ 500 InternalErrorException quoting the request id and nothing internal; the log line has the id', async () => {
    vi.spyOn(t.services.store, 'getDatasetView').mockImplementation(() => {
      throw new Error('SQLITE_CORRUPT: database disk image is malformed at /var/secret/cosync.sqlite');
    });
    const res = await listRecords(freshDataset());
    const requestId = res.header('x-amzn-RequestId') ?? '';
    const body = expectAwsError(res, 500, 'InternalErrorException');
    expect(body.message).toContain(requestId);
    expect(res.text).not.toMatch(/SQLITE|secret|malformed|at .*\.(ts|js)/);
    expect(Object.keys(body).sort()).toEqual(['__type', 'message']);

    const line = logLines.find((l) => l['requestId'] === requestId);
    expect(line).toBeDefined();
    expect(line?.['level']).toBe(50); // error
    expect(JSON.stringify(line)).toContain('SQLITE_CORRUPT');
  });

  it('a reset of the database\'s connection during a POST is a 500, not the client\'s hang-up', async () => {
    // node:http marks a request destroyed once its body is read: the database's ECONNRESET (the write's outcome
    // unknown) must not pass for a client that went away (a 400 that SDKs do not retry).
    vi.spyOn(t.services.store, 'writeRecords').mockImplementation(() =>
      Promise.reject(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', syscall: 'read' })));
    const res = await updateRecords(freshDataset(), '{"SyncSessionToken":"$TOKEN","RecordPatches":[{"Op":"replace","Key":"k","Value":"v","SyncCount":0}]}');
    expectAwsError(res, 500, 'InternalErrorException');
    const line = logLines.find((l) => l['requestId'] === res.header('x-amzn-RequestId'));
    expect(line?.['level']).toBe(50);
  });

  it('bad bytes pipelined after a request are answered after that request\'s own answer', async () => {
    const socket = connect(Number(new URL(t.endpoint).port), '127.0.0.1');
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('connect', resolve));
    const body = JSON.stringify({ IdentityPoolId: poolId });
    let received = '';
    socket.on('data', (d: Buffer) => { received += d.toString('latin1'); });
    const closed = new Promise((resolve) => socket.once('close', resolve));
    // One write: GetId (its answer comes at the end of the event-loop turn), then a request no HTTP parser accepts.
    socket.write('POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSCognitoIdentityService.GetId\r\n'
      + `Content-Type: application/x-amz-json-1.1\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
      + 'FOO / HTTP/1.1\r\nHost: x\r\n\r\n');
    await closed;
    const ok = received.indexOf('HTTP/1.1 200');
    expect(ok, received).toBeGreaterThanOrEqual(0);
    expect(received.indexOf('HTTP/1.1 400', ok)).toBeGreaterThan(ok);
  });

  it('a client that hangs up in the middle of its body is not logged as a server failure', async () => {
    const before = logLines.length;
    const socket = connect(Number(new URL(t.endpoint).port), '127.0.0.1');
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSCognitoIdentityService.GetId\r\n'
      + 'Content-Type: application/x-amz-json-1.1\r\nContent-Length: 100\r\n\r\n{"Ident');
    await new Promise((r) => setTimeout(r, 50));
    socket.destroy();
    await new Promise((r) => setTimeout(r, 100));
    expect(logLines.slice(before).filter((l) => Number(l['level']) >= 50)).toEqual([]);
  });
});

describe('requests real clients send that the server accepts', () => {
  it('no body (v3, boto3, CLI) or {} (v2) on POST operations without body members', async () => {
    const { sync } = clients(t);
    await sync.send(new SetIdentityPoolConfigurationCommand({
      IdentityPoolId: poolId,
      CognitoStreams: { StreamName: 'stream', RoleArn: 'arn:aws:iam::123456789012:role/streams', StreamingStatus: 'ENABLED' },
    }));
    const publish = await raw(t, { method: 'POST', path: syncPath('identitypools', poolId, 'bulkpublish'), sign: true });
    expect(publish.status, publish.text).toBe(200);
    expect(publish.json).toEqual({ IdentityPoolId: poolId });

    const detailsEmpty = await raw(t, { method: 'POST', path: syncPath('identitypools', poolId, 'getBulkPublishDetails'), sign: true });
    expect(detailsEmpty.status, detailsEmpty.text).toBe(200);
    const detailsV2 = await raw(t, {
      method: 'POST', path: syncPath('identitypools', poolId, 'getBulkPublishDetails'), headers: JSON_HEADERS, body: '{}', sign: true,
    });
    expect(detailsV2.status, detailsV2.text).toBe(200);
    expect(detailsV2.json).toMatchObject({ IdentityPoolId: poolId });

  });

  it('no body or {} on SubscribeToDataset, no body on UnsubscribeFromDataset (identity credentials)', async () => {
    await clients(t).sync.send(new SetIdentityPoolConfigurationCommand({
      IdentityPoolId: poolId,
      PushSync: { ApplicationArns: ['arn:aws:sns:us-east-1:123456789012:app/GCM/wire'], RoleArn: 'arn:aws:iam::123456789012:role/push' },
    }));
    const asIdentity = { credentials: IDENTITY_CREDENTIALS };
    const registered = await raw(t, {
      method: 'POST', path: syncPath('identitypools', poolId, 'identity', identityId, 'device'),
      headers: JSON_HEADERS, body: '{"Platform":"GCM","Token":"wire-push-token"}', sign: asIdentity,
    });
    expect(registered.status, registered.text).toBe(200);
    const { DeviceId } = registered.json as { DeviceId: string };
    const dataset = freshDataset();
    const written = await updateRecords(dataset, '{"SyncSessionToken":"$TOKEN","RecordPatches":[{"Op":"replace","Key":"k","Value":"v","SyncCount":0}]}');
    expect(written.status, written.text).toBe(200);

    const path = `${datasetPath(poolId, identityId, dataset)}/subscriptions/${encodeURIComponent(DeviceId)}`;
    const subscribed = await raw(t, { method: 'POST', path, sign: asIdentity });
    expect(subscribed.status, subscribed.text).toBe(200);
    expect(subscribed.json).toEqual({});
    const again = await raw(t, { method: 'POST', path, headers: JSON_HEADERS, body: '{}', sign: asIdentity });
    expect(again.status, again.text).toBe(200);
    // boto3 and the CLI add an unsigned Content-Length: 0 to DELETE.
    const unsubscribed = await raw(t, { method: 'DELETE', path, headers: { 'Content-Length': '0' }, sign: { ...asIdentity, unsigned: ['Content-Length'] } });
    expect(unsubscribed.status, unsubscribed.text).toBe(200);

    // With developer credentials the same empty-bodied request gets as far as authorization, and no further.
    const developer = await raw(t, { method: 'POST', path, sign: true });
    expectAwsError(developer, 403, 'NotAuthorizedException', 'These credentials are not valid for accessing this resource');
  });

  it('GET with Content-Type application/x-amz-json-1.1 and no body (Android)', async () => {
    const res = await listRecords(freshDataset(), { lastSyncCount: '0' }, { 'Content-Type': 'application/x-amz-json-1.1' });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({ Count: 0, DatasetExists: false });
  });

  it('X-Amz-Target: AWSCognitoSyncService.* on a REST call is ignored (old Android marshallers)', async () => {
    const dataset = freshDataset();
    const written = await updateRecords(dataset, '{"SyncSessionToken":"$TOKEN","RecordPatches":[{"Op":"replace","Key":"k","Value":"v","SyncCount":0}]}');
    expect(written.status, written.text).toBe(200);
    const describe = await raw(t, {
      method: 'GET', path: datasetPath(poolId, identityId, dataset), sign: true,
      headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'AWSCognitoSyncService.ListRecords' },
    });
    expect(describe.status, describe.text).toBe(200);
    expect(describe.json).toMatchObject({ Dataset: { DatasetName: dataset, NumRecords: 1 } });
    const records = await listRecords(dataset, {}, { 'X-Amz-Target': 'AWSCognitoSyncService.DeleteDataset' });
    expect(records.json).toMatchObject({ Count: 1, DatasetSyncCount: 1 });
  });

  it('explicit JSON null members are treated as absent', async () => {
    const dataset = freshDataset();
    const res = await updateRecords(dataset, JSON.stringify({
      DeviceId: null, SyncSessionToken: '$TOKEN', ClientContext: null,
      RecordPatches: [{ Op: 'replace', Key: 'k', Value: 'v', SyncCount: 0, DeviceLastModifiedDate: null }],
    }));
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({ Records: [{ Key: 'k', Value: 'v', SyncCount: 1 }] });

    const noPatches = await updateRecords(dataset, '{"SyncSessionToken":"$TOKEN","RecordPatches":null,"DeviceId":null}');
    expect(noPatches.status, noPatches.text).toBe(200);
    expect(noPatches.json).toEqual({ Records: [] });

    const pool = await raw(t, {
      method: 'POST', path: '/', sign: { service: 'cognito-identity' },
      headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'AWSCognitoIdentityService.CreateIdentityPool' },
      body: JSON.stringify({
        IdentityPoolName: 'nulls', AllowUnauthenticatedIdentities: true,
        SupportedLoginProviders: null, DeveloperProviderName: null, OpenIdConnectProviderARNs: null, IdentityPoolTags: null,
      }),
    });
    expect(pool.status, pool.text).toBe(200);
    expectJsonContentType(pool, 'application/x-amz-json-1.1');
    expect(pool.json).toMatchObject({ IdentityPoolName: 'nulls', AllowUnauthenticatedIdentities: true });
  });

  it('boto3-style JSON (spaces, \\u00fc escapes, no X-Amz-Content-Sha256) with an integer DeviceLastModifiedDate', async () => {
    const dataset = freshDataset();
    const body = '{"SyncSessionToken": "$TOKEN", "RecordPatches": [{"Op": "replace", "Key": "name", ' +
      '"Value": "v1 \\u00fc \\ud83d\\ude00", "SyncCount": 0, "DeviceLastModifiedDate": 1704164645}]}';
    const res = await updateRecords(dataset, body, { contentSha256: false });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({ Records: [{ Key: 'name', Value: 'v1 ü 😀', DeviceLastModifiedDate: 1704164645 }] });
  });

  it('v2/v3-style compact JSON with raw UTF-8 and a fractional DeviceLastModifiedDate', async () => {
    const dataset = freshDataset();
    const res = await updateRecords(dataset,
      '{"SyncSessionToken":"$TOKEN","RecordPatches":[{"Op":"replace","Key":"name","Value":"v1 ü","SyncCount":0,"DeviceLastModifiedDate":1704164645.678}]}');
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({ Records: [{ Key: 'name', Value: 'v1 ü', DeviceLastModifiedDate: 1704164645.678 }] });
  });
});

describe('successful responses', () => {
  it('are application/json with timestamps as JSON numbers in epoch seconds', async () => {
    const dataset = freshDataset();
    const before = Date.now() / 1000;
    const written = await updateRecords(dataset,
      '{"SyncSessionToken":"$TOKEN","RecordPatches":[{"Op":"replace","Key":"a","Value":"1","SyncCount":0,"DeviceLastModifiedDate":1704164645.5}]}');
    const after = Date.now() / 1000 + 1;
    expect(written.status).toBe(200);
    expectJsonContentType(written);
    expect(written.header('x-amzn-RequestId')).toMatch(/^[0-9a-f-]{36}$/);

    const records = await listRecords(dataset);
    expectJsonContentType(records);
    const record = (records.json as { Records: Array<Record<string, unknown>> }).Records[0];
    expect(typeof record?.['LastModifiedDate']).toBe('number');
    expect(record?.['LastModifiedDate']).toBeGreaterThanOrEqual(Math.floor(before));
    expect(record?.['LastModifiedDate']).toBeLessThanOrEqual(after);
    expect(record?.['DeviceLastModifiedDate']).toBe(1704164645.5);
    expect(records.text).toMatch(/"LastModifiedDate":\d+(\.\d+)?[,}]/);

    const described = await raw(t, { method: 'GET', path: datasetPath(poolId, identityId, dataset), sign: true });
    expectJsonContentType(described);
    const ds = (described.json as { Dataset: Record<string, unknown> }).Dataset;
    expect(typeof ds['CreationDate']).toBe('number');
    expect(typeof ds['LastModifiedDate']).toBe('number');
    expect(ds['DataStorage']).toBe(2);
    expect(ds['NumRecords']).toBe(1);

    const listed = await raw(t, { method: 'GET', path: syncPath('identitypools', poolId, 'identities', identityId, 'datasets'), sign: true });
    expectJsonContentType(listed);
    const first = (listed.json as { Datasets: Array<Record<string, unknown>> }).Datasets[0];
    expect(typeof first?.['CreationDate']).toBe('number');

    const usage = await raw(t, { method: 'GET', path: syncPath('identitypools', poolId, 'identities', identityId), sign: true });
    expectJsonContentType(usage);
    expect(typeof (usage.json as { IdentityUsage: Record<string, unknown> }).IdentityUsage['LastModifiedDate']).toBe('number');
  });
});
