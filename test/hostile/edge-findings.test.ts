/**
 * Requests the hostile-input fuzzer (fuzz.test.ts) once answered with a 500, kept as fixed examples so each stays
 * fixed whatever the fuzzer's seed.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { startServer, type TestServer } from '../helpers/server.js';
import { expectAwsError, raw, syncPath } from '../wire/raw-http.js';

let t: TestServer;
beforeAll(async () => { t = await startServer(); });
afterAll(() => t.close());

describe('fuzzer findings', () => {
  it('a path label longer than the router accepts → 400 InvalidParameterException, not 500', async () => {
    const path = syncPath('identitypools', 'x'.repeat(10_000), 'identities', 'us-east-1:1', 'datasets', 'd', 'subscriptions', 'dev');
    const res = await raw(t, { method: 'POST', path, sign: true });
    expectAwsError(res, 400, 'InvalidParameterException', 'longer than the server accepts');
  });
});
