import { TEST_CREDENTIALS } from './server.js';

/** The `cosync` command as a user runs it (the built dist/, which `npm test` builds first). */
export const COSYNC_BIN = new URL('../../bin/cosync.js', import.meta.url).pathname;

/**
 * The environment of a `cosync serve` child process in tests: the test developer credentials, fixed server keys
 * (so identity credentials survive a restart) and throttling off; `extra` adds or overrides settings.
 */
export function serveEnvironment(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env['PATH'] ?? '',
    COSYNC_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
    COSYNC_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    COSYNC_ACCOUNT_ID: TEST_CREDENTIALS.accountId,
    COSYNC_SERVER_KEYS: `test1:${Buffer.alloc(32, 1).toString('base64')}`,
    COSYNC_THROTTLE_IDENTITY_RPS: '0',
    COSYNC_THROTTLE_POOL_RPS: '0',
    ...extra,
  };
}

/** mulberry32: a small seeded generator, so a failing run can be replayed with its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
