import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';

describe('loadConfig', () => {
  it('takes a flag over its variable, and does not read the variable then', () => {
    expect(loadConfig(['--port', '9000'], { COSYNC_PORT: '9001' }).port).toBe(9000);
    expect(loadConfig([], { COSYNC_PORT: '9001' }).port).toBe(9001);
    // A bad variable that a flag overrides does not stop the start.
    expect(loadConfig(['--port=9000'], { COSYNC_PORT: 'xyz' }).port).toBe(9000);
    expect(loadConfig(['--log-level', 'warn'], { COSYNC_LOG_LEVEL: 'verbose' }).logLevel).toBe('warn');
  });

  it('names the variable when the bad value came from it, and the flag when it came from the flag', () => {
    expect(() => loadConfig([], { COSYNC_PORT: 'xyz' })).toThrow(/^COSYNC_PORT: --port must be an integer/);
    expect(() => loadConfig(['--port', 'xyz'], {})).toThrow(/^--port must be an integer/);
  });

  it('refuses a port above 65535, an unknown option and a flag without its value', () => {
    expect(() => loadConfig(['--port', '70000'], {})).toThrow(/--port must be at most 65535/);
    expect(() => loadConfig(['--nope', '1'], {})).toThrow(/unknown option --nope/);
    expect(() => loadConfig(['--port'], {})).toThrow(/--port needs a value/);
  });

  it('refuses an empty flag value: an unset shell variable must not open every interface or move the data', () => {
    for (const flag of ['host', 'data', 'sqlite-file', 'login-providers', 'region']) {
      expect(() => loadConfig([`--${flag}=`], {}), flag).toThrow(new RegExp(`^--${flag} needs a value, got an empty one`));
      expect(() => loadConfig([`--${flag}`, ''], {}), flag).toThrow(new RegExp(`^--${flag} needs a value`));
    }
    // An empty variable is unset, as documented.
    expect(loadConfig([], { COSYNC_HOST: '' }).host).toBe('127.0.0.1');
  });

  it('echoes a bad log level and caps the body size', () => {
    expect(() => loadConfig(['--log-level', 'INFO'], {})).toThrow(/--log-level must be one of .*, got 'INFO'/);
    expect(() => loadConfig(['--max-body-bytes', '99999999999999'], {})).toThrow(/^--max-body-bytes must be at most 67108864/);
    expect(loadConfig(['--max-body-bytes', String(64 * 1024 * 1024)], {}).maxBodyBytes).toBe(64 * 1024 * 1024);
  });

  it('names the flag in every value error', () => {
    expect(() => loadConfig(['--max-body-bytes', '10'], {})).toThrow(/^--max-body-bytes must be an integer >= 1024/);
    expect(() => loadConfig(['--max-connections', '0'], {})).toThrow(/^--max-connections must be an integer >= 1/);
    expect(loadConfig([], { COSYNC_MAX_CONNECTIONS: '500' }).maxConnections).toBe(500);
    expect(loadConfig([], {}).maxConnections).toBeNull();
    // node:cluster would pass a refused connection from worker to worker for ever.
    expect(() => loadConfig(['--max-connections', '10', '--workers', '2'], {})).toThrow(/cannot be used with --workers above 1/);
    expect(() => loadConfig([], { COSYNC_THROTTLE_POOL_RPS: '-1' })).toThrow(/^COSYNC_THROTTLE_POOL_RPS: --throttle-pool-rps /);
  });

  it('reads numbers in decimal only: an empty rate is not "off", nor 0x10 sixteen', () => {
    expect(() => loadConfig(['--throttle-identity-rps='], {})).toThrow(/^--throttle-identity-rps needs a value, got an empty one/);
    expect(() => loadConfig([], { COSYNC_THROTTLE_POOL_RPS: ' ' })).toThrow(/--throttle-pool-rps must be a number/);
    expect(() => loadConfig(['--throttle-pool-burst', '0x10'], {})).toThrow(/--throttle-pool-burst must be an integer/);
    expect(() => loadConfig(['--port', '1e3'], {})).toThrow(/--port must be an integer/);
    expect(loadConfig(['--throttle-identity-rps', '2.5', '--port', '+80'], {})).toMatchObject({
      port: 80, throttle: { identityRatePerSecond: 2.5 },
    });
  });

  it('by default lets a stalled upload get its 408 before the idle timeout closes it unanswered', () => {
    const { http } = loadConfig([], {});
    // Node checks the request timeout every quarter of the headers timeout.
    expect(http.idleTimeoutMs).toBeGreaterThan(http.requestTimeoutMs + http.headersTimeoutMs / 4);
  });

  it('refuses a blank flag value, a --workers beyond four per core (64 on smaller machines) and a public URL that does not parse', () => {
    expect(() => loadConfig(['--data', ' '], {})).toThrow(/^--data needs a value, got an empty one/);
    const most = Math.max(64, 4 * availableParallelism());
    expect(loadConfig(['--workers', String(most)], {}).workers).toBe(most);
    expect(() => loadConfig(['--workers', String(most + 1)], {})).toThrow(new RegExp(`^--workers \\(or auto\\) must be at most ${most}`));
    expect(() => loadConfig(['--workers', '1000000'], {})).toThrow(/must be at most/);
    expect(() => loadConfig(['--public-url', 'http://x y'], {})).toThrow(/^--public-url must be an http\(s\) URL/);
  });

  it('reads the Sync Trigger numbers in decimal only: a blank concurrency is not "no limit"', () => {
    expect(() => loadConfig([], { COSYNC_SYNC_TRIGGER_CONCURRENCY: '  ' })).toThrow(/--sync-trigger-concurrency must be an integer/);
    expect(() => loadConfig(['--sync-trigger-timeout-ms', '1e3'], {})).toThrow(/--sync-trigger-timeout-ms must be an integer/);
    expect(() => loadConfig(['--sync-trigger-concurrency', '0b11'], {})).toThrow(/--sync-trigger-concurrency must be an integer/);
    expect(loadConfig(['--sync-trigger-concurrency', '3'], {}).syncTriggers.concurrency).toBe(3);
  });

  it('names --login-providers and the path when its file cannot be read', () => {
    expect(() => loadConfig(['--login-providers', '/nonexistent/providers.json'], {}))
      .toThrow(/^--login-providers must be inline JSON .* cannot read '\/nonexistent\/providers\.json': ENOENT/);
    expect(() => loadConfig([], { COSYNC_LOGIN_PROVIDERS: '[]' })).toThrow(/^COSYNC_LOGIN_PROVIDERS: --login-providers must be inline JSON/);
  });

  it('takes the last of a repeated flag', () => {
    expect(loadConfig(['--port', '1', '--port', '2'], {}).port).toBe(2);
  });
});
