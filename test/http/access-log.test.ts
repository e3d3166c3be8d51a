/**
 * The access log: one debug line per answered request, naming what an operator needs to match a request id a
 * client quotes, and nothing secret.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { DescribeIdentityPoolCommand } from '@aws-sdk/client-cognito-identity';
import { ListRecordsCommand } from '@aws-sdk/client-cognito-sync';
import { clients, poolWithIdentity, startServer, type TestServer } from '../helpers/server.js';

function capture(level: string) {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: pino({ level, base: null }, stream) };
}

describe('access log', () => {
  const debug = capture('debug');
  const info = capture('info');
  let t: TestServer;
  let quiet: TestServer;
  beforeAll(async () => {
    t = await startServer({ logger: debug.logger });
    quiet = await startServer({ logger: info.logger });
  });
  afterAll(async () => {
    await t.close();
    await quiet.close();
  });

  it('at debug, logs each answer with its request id, route, operation, status, error type and time; nothing secret', async () => {
    const { poolId, identityId } = await poolWithIdentity(t);
    const { sync, identity } = clients(t);
    const ref = { IdentityPoolId: poolId, IdentityId: identityId, DatasetName: 'settings' };
    const listed = await sync.send(new ListRecordsCommand({ ...ref, LastSyncCount: 0 }));
    const missing = await identity.send(new DescribeIdentityPoolCommand({ IdentityPoolId: 'us-east-1:00000000-0000-0000-0000-000000000000' }))
      .catch((err: { $metadata: { requestId?: string } }) => err);
    await new Promise((resolve) => setTimeout(resolve, 50));
    let requests = debug.lines.filter((l) => l['msg'] === 'request');
    const ok = requests.find((l) => l['requestId'] === listed.$metadata.requestId);
    expect(ok).toMatchObject({
      method: 'GET', path: `/identitypools/${encodeURIComponent(poolId)}/identities/${encodeURIComponent(identityId)}/datasets/settings/records`,
      operation: 'ListRecords', status: 200,
    });
    expect(ok!['ms']).toEqual(expect.any(Number));
    expect(requests.find((l) => l['requestId'] === (missing as { $metadata: { requestId?: string } }).$metadata.requestId)).toMatchObject({
      method: 'POST', path: '/', target: 'AWSCognitoIdentityService.DescribeIdentityPool', status: 400,
      errorType: 'ResourceNotFoundException',
    });
    // Refused before routing, where no hook runs: logged too.
    const bad = await fetch(`${t.endpoint}/identitypools/%zz/identities`);
    expect(bad.status).toBe(400);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(debug.lines.find((l) => l['requestId'] === bad.headers.get('x-amzn-RequestId'))).toMatchObject({
      msg: 'request', method: 'GET', path: '/identitypools/%zz/identities', status: 400, errorType: 'InvalidParameterException',
    });
    // Neither the query (page and session tokens) nor a signature or secret.
    requests = debug.lines.filter((l) => l['msg'] === 'request');
    const text = JSON.stringify(requests);
    expect(text).not.toMatch(/lastSyncCount|Signature|AWS4-HMAC|SyncSessionToken/);
    expect(text).not.toContain(t.credentials.secretAccessKey);
  });

  it('at info, logs no line per request', async () => {
    await poolWithIdentity(quiet);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(info.lines.filter((l) => l['msg'] === 'request')).toEqual([]);
  });
});
