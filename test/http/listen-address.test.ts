/** The URL the server reports, which the banner and the OpenID issuer use: one a client can connect to. */
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createServer } from '../../src/server.js';
import { TEST_CREDENTIALS, TEST_SERVER_KEYS } from '../helpers/server.js';

describe('the reported URL', () => {
  it.each([
    ['0.0.0.0', /^http:\/\/127\.0\.0\.1:\d+$/],
    ['::', /^http:\/\/\[::1\]:\d+$/],
  ])('listening on every address (%s) reports a loopback address that answers', async (host, expected) => {
    const base = defaultConfig();
    const server = await createServer({
      config: { ...base, host, port: 0, logLevel: 'silent', storage: { engine: 'sqlite', file: ':memory:', synchronous: 'FULL', locking: 'exclusive' } },
      developerCredentials: TEST_CREDENTIALS, serverKeys: TEST_SERVER_KEYS, logger: createLogger('silent'),
    });
    try {
      const url = await server.listen();
      expect(url).toMatch(expected);
      expect((await fetch(`${url}/.well-known/openid-configuration`)).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});
