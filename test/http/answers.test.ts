import { beforeAll, describe, expect, it } from 'vitest';
import { ListRecordsCommand } from '@aws-sdk/client-cognito-sync';
import { clients, poolWithIdentity } from '../helpers/server.js';
import { sharedServer } from '../helpers/shared-server.js';

/**
 * The headers every answer carries, whichever path wrote it: API results (written by respond.ts on the raw
 * response), errors and the preflight (sent by Fastify), for both protocols.
 */
const EXPOSED = 'x-amzn-RequestId, x-amzn-ErrorType, x-amzn-ErrorMessage, Date';
const t = sharedServer();
let poolId: string;
let identityId: string;

beforeAll(async () => {
  ({ poolId, identityId } = await poolWithIdentity(t));
});

const recordsUrl = () => `${t.endpoint}/identitypools/${encodeURIComponent(poolId)}/identities/x/datasets/d/records`;

function expectCors(res: Response): void {
  expect(res.headers.get('access-control-allow-origin')).toBe('*');
  expect(res.headers.get('access-control-expose-headers')).toBe(EXPOSED);
}

const getId = (body: object) => fetch(`${t.endpoint}/`, {
  method: 'POST',
  headers: {
    'content-type': 'application/x-amz-json-1.1',
    'x-amz-target': 'AWSCognitoIdentityService.GetId',
    origin: 'https://app.example',
  },
  body: JSON.stringify(body),
});

describe('answers on the wire', () => {
  it('an awsJson1_1 result: 200, its content type, length, request id and CORS headers', async () => {
    const res = await getId({ IdentityPoolId: poolId });
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-amz-json-1.1');
    expect(res.headers.get('content-length')).toBe(String(Buffer.byteLength(text)));
    expect(res.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers.get('connection')).toBe('keep-alive');
    expectCors(res);
    expect(JSON.parse(text)).toEqual({ IdentityId: expect.stringMatching(/^us-east-1:/) });
  });

  it('a restJson1 result read through the SDK carries the same headers', async () => {
    const { sync } = clients(t);
    const seen: Record<string, string>[] = [];
    sync.middlewareStack.add((next) => async (args) => {
      const out = await next(args);
      seen.push((out.response as { headers: Record<string, string> }).headers);
      return out;
    }, { step: 'deserialize' });
    const input = { IdentityPoolId: poolId, IdentityId: identityId, DatasetName: 'd' };
    const answer = await sync.send(new ListRecordsCommand(input));
    expect(answer.DatasetExists).toBe(false);
    expect(seen[0]).toMatchObject({
      'content-type': 'application/json',
      'access-control-allow-origin': '*',
      'access-control-expose-headers': EXPOSED,
      'x-amzn-requestid': answer.$metadata.requestId,
    });
  });

  it('an error: the AWS error shape with the CORS headers', async () => {
    const res = await getId({ IdentityPoolId: 'not-a-pool-id' });
    expect(res.status).toBe(400);
    expect(res.headers.get('x-amzn-errortype')).toBe('ValidationException');
    // As AWS sends it: no charset parameter, on errors as on results.
    expect(res.headers.get('content-type')).toBe('application/x-amz-json-1.1');
    expectCors(res);
    expect(await res.json()).toMatchObject({ __type: 'ValidationException' });
  });

  it('a restJson1 error carries application/json, without a charset', async () => {
    const res = await fetch(recordsUrl());
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
    expectCors(res);
  });

  it('a preflight is answered with the methods and headers asked for', async () => {
    const res = await fetch(recordsUrl(), {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization, x-amz-date',
      },
    });
    expect(res.status).toBe(200);
    expectCors(res);
    expect(res.headers.get('access-control-allow-methods')).toBe('GET, POST, DELETE, OPTIONS');
    expect(res.headers.get('access-control-allow-headers')).toBe('authorization, x-amz-date');
    expect(res.headers.get('access-control-max-age')).toBe('86400');
  });

  it('an OPTIONS request that is no preflight is answered as a method the route does not take', async () => {
    const res = await fetch(recordsUrl(), { method: 'OPTIONS' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET');
    expectCors(res);
    expect(res.headers.get('x-amzn-errortype')).toBe('MethodNotAllowedException');
  });

  it('an OPTIONS request to no route at all is an unknown operation', async () => {
    const res = await fetch(`${t.endpoint}/no/such/route`, { method: 'OPTIONS' });
    expect(res.status).toBe(404);
    expect(res.headers.get('x-amzn-errortype')).toBe('UnknownOperationException');
  });
});
