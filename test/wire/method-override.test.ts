/**
 * X-HTTP-Method-Override (SPEC §1): the AWS SDK for Unity 1.0.x sends every Cognito Sync call as POST, names the real
 * method in that header (a GET carries the body `{}`), and signs the request with the real method.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { poolWithIdentity, startServer, type TestServer } from '../helpers/server.js';
import { datasetPath, raw, send, signRequest, type RawResponse } from './raw-http.js';

let t: TestServer;
let poolId: string;
let identityId: string;

beforeAll(async () => {
  t = await startServer();
  ({ poolId, identityId } = await poolWithIdentity(t));
});
afterAll(() => t.close());

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
