import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CognitoIdentityClient, CreateIdentityPoolCommand, ListIdentityPoolsCommand } from '@aws-sdk/client-cognito-identity';
import { createTestSchema, describeWithPostgres, type TestSchema } from '../storage/postgres-support.js';
import { DRAIN_REPORT_EVERY_MS } from '../../src/http/connection-drain.js';

const BIN = new URL('../../bin/cosync.js', import.meta.url).pathname;
const children: ChildProcess[] = [];
const dirs: string[] = [];

afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Starts `cosync serve` as a user would (after `npm ci` built dist/) and collects its output. */
function serve(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [BIN, 'serve', ...args], {
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  let stdout = '';
  child.stdout?.on('data', (d: Buffer) => { output += d.toString(); stdout += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { output += d.toString(); });
  const waitFor = async (pattern: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> => {
    const start = Date.now();
    for (;;) {
      const m = output.match(pattern);
      if (m) return m;
      if (child.exitCode !== null || Date.now() - start > timeoutMs) throw new Error(`no ${pattern} in output:\n${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  /** The exit code, or 'still running' when the process has not exited within `ms`. */
  const exitWithin = (ms: number) => Promise.race([
    exited, new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), ms)),
  ]);
  return { child, waitFor, exited, exitWithin, output: () => output, stdout: () => stdout };
}

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'cosync-cli-'));
  dirs.push(d);
  return d;
}

describe('cosync serve', () => {
  it('generates developer credentials once, keeps them private, serves the APIs and stops gracefully', async () => {
    const data = join(tempDir(), 'data');
    const first = serve(['--port', '0', '--data', data, '--log-level', 'info']);
    const url = (await first.waitFor(/"url":"(http:\/\/127\.0\.0\.1:\d+)"/))[1] ?? '';
    const key = (await first.waitFor(/AWS_ACCESS_KEY_ID=(\S+)/))[1] ?? '';
    const secret = (await first.waitFor(/AWS_SECRET_ACCESS_KEY=(\S+)/))[1] ?? '';
    expect(statSync(join(data, 'developer-credentials.json')).mode & 0o777).toBe(0o600);

    const client = new CognitoIdentityClient({ endpoint: url, region: 'us-east-1', credentials: { accessKeyId: key, secretAccessKey: secret } });
    const pool = await client.send(new CreateIdentityPoolCommand({ IdentityPoolName: 'cli_pool', AllowUnauthenticatedIdentities: true }));
    expect(pool.IdentityPoolId).toMatch(/^us-east-1:[0-9a-f-]{36}$/);

    expect(first.output()).toContain('database schema migrated to version');
    expect(first.output()).not.toContain('accessible to other users');
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(first.output()).toContain('stopped');
    // Nothing held the stop: it says nothing of its own.
    expect(first.output()).not.toContain('shutdown: ');
    // A database file others can read (as made by hand, or by a version that did not restrict it) is named.
    chmodSync(join(data, 'cosync.sqlite'), 0o644);

    // Second start: same credentials from the data folder, not printed again, data still there.
    const second = serve(['--data', data], { COSYNC_PORT: '0', COSYNC_REGION: 'eu-west-1' });
    const url2 = (await second.waitFor(/"url":"(http:\/\/127\.0\.0\.1:\d+)"/))[1] ?? '';
    expect(second.output()).not.toContain(secret);
    expect(second.output()).toMatch(/cosync\.sqlite is accessible to other users \(mode 644\)/);
    expect(second.output()).not.toContain('database schema migrated');
    const client2 = new CognitoIdentityClient({ endpoint: url2, region: 'eu-west-1', credentials: { accessKeyId: key, secretAccessKey: secret } });
    const pools = await client2.send(new ListIdentityPoolsCommand({ MaxResults: 10 }));
    expect(pools.IdentityPools?.map((p) => p.IdentityPoolName)).toEqual(['cli_pool']);
    second.child.kill('SIGINT');
    expect(await second.exited).toBe(0);
  });

  it('prints generated credentials on the next start when the first failed before printing them', async () => {
    const data = join(tempDir(), 'data');
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = String((blocker.address() as AddressInfo).port);
    const failed = serve(['--port', taken, '--data', data]);
    expect(await failed.exited).not.toBe(0);
    blocker.close();
    expect(failed.output()).not.toContain('AWS_SECRET_ACCESS_KEY');
    // The operator is told which settings to change, not only the system's error code.
    expect(failed.output()).toContain(`cannot listen on 127.0.0.1 port ${taken} (--host, --port): listen EADDRINUSE`);
    const { accessKeyId, secretAccessKey } = JSON.parse(readFileSync(join(data, 'developer-credentials.json'), 'utf8')) as
      { accessKeyId: string; secretAccessKey: string };

    const next = serve(['--port', '0', '--data', data]);
    expect((await next.waitFor(/AWS_SECRET_ACCESS_KEY=(\S+)/))[1]).toBe(secretAccessKey);
    expect(next.output()).toContain(`AWS_ACCESS_KEY_ID=${accessKeyId}`);
    // Not on stdout, where the JSON log lines go.
    expect(next.stdout()).not.toContain(secretAccessKey);
    next.child.kill('SIGTERM');
    expect(await next.exited).toBe(0);

    const third = serve(['--port', '0', '--data', data]);
    await third.waitFor(/"url":"http/);
    expect(third.output()).not.toContain(secretAccessKey);
    third.child.kill('SIGTERM');
    expect(await third.exited).toBe(0);
  });

  it('a second signal during a graceful stop ends the process at once, whichever the two signals', async () => {
    for (const [first, second, code] of [['SIGTERM', 'SIGINT', 130], ['SIGINT', 'SIGTERM', 143], ['SIGTERM', 'SIGTERM', 143]] as const) {
      const s = serve(['--port=0', `--data=${tempDir()}`], { COSYNC_ACCESS_KEY_ID: 'AKIAENVKEY', COSYNC_SECRET_ACCESS_KEY: 'env-secret' });
      const port = Number((await s.waitFor(/"url":"http:\/\/127\.0\.0\.1:(\d+)"/))[1]);
      // A client that never finishes its request header holds a graceful stop until the headers timeout.
      const held = connect(port, '127.0.0.1');
      held.on('error', () => {});
      await new Promise((resolve) => held.once('connect', resolve));
      held.write('POST / HTTP/1.1\r\nHost: x\r\n');
      s.child.kill(first);
      await s.waitFor(/shutting down/);
      expect(await s.exitWithin(300), `${first}: still waiting for the held connection`).toBe('still running');
      s.child.kill(second);
      expect(await s.exitWithin(3000), `${first} then ${second}`).toBe(code);
      expect(s.output()).toContain('second signal: stopping now');
      held.destroy();
    }
  });

  it('says, while a slow client holds a graceful stop open, what it still waits for, and when it is done', async () => {
    const s = serve(['--port=0', `--data=${tempDir()}`], { COSYNC_ACCESS_KEY_ID: 'AKIAENVKEY', COSYNC_SECRET_ACCESS_KEY: 'env-secret' });
    const port = Number((await s.waitFor(/"url":"http:\/\/127\.0\.0\.1:(\d+)"/))[1]);
    // A request whose body never comes holds the stop until the request timeout (60 s by default).
    const held = connect(port, '127.0.0.1');
    held.on('error', () => {});
    await new Promise((resolve) => held.once('connect', resolve));
    held.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc');
    s.child.kill('SIGTERM');
    await s.waitFor(/"requests":1,"connections":1,.*"msg":"shutdown: still waiting for clients"/, 3 * DRAIN_REPORT_EVERY_MS);
    held.destroy();
    expect(await s.exited).toBe(0);
    expect(s.output()).toMatch(/"msg":"shutdown: no connections left"[^]*"msg":"stopped"/);
  });

  it('uses credentials from the environment and refuses unknown flags', async () => {
    const data = tempDir();
    const s = serve(['--port=0', `--data=${data}`], { COSYNC_ACCESS_KEY_ID: 'AKIAENVKEY', COSYNC_SECRET_ACCESS_KEY: 'env-secret' });
    await s.waitFor(/cosync listening/);
    expect(s.output()).not.toContain('env-secret');
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);

    const help = serve(['--help']);
    expect(await help.exited).toBe(0);
    expect(help.output()).toContain('Usage: cosync serve [options]');

    const bad = serve(['--no-such-flag', '1']);
    expect(await bad.exited).toBe(1);
    expect(bad.output()).toContain('unknown option --no-such-flag');

    const unresolvable = serve(['--port', '0', '--data', data, '--host', 'no-such-host.invalid'],
      { COSYNC_ACCESS_KEY_ID: 'AKIAENVKEY', COSYNC_SECRET_ACCESS_KEY: 'env-secret' });
    expect(await unresolvable.exited).toBe(1);
    expect(unresolvable.output()).toContain('cannot listen on no-such-host.invalid port 0 (--host, --port): getaddrinfo');
  });

  it('exits at once, naming the folder and the setting, when the data folder cannot be used', async () => {
    const file = join(tempDir(), 'a-file');
    writeFileSync(file, 'x');
    const cases: Array<[string, string]> = [
      [file, 'it exists and is not a folder'],
      [join(file, 'below'), 'ENOTDIR'],
      // Node 20's recursive mkdir never returned for such a path, spinning a core.
      ...(process.platform === 'linux' ? [['/proc/cosync-nope', 'ENOENT'] as [string, string]] : []),
    ];
    for (const [data, reason] of cases) {
      const failed = serve(['--port', '0', '--data', data]);
      expect(await failed.exitWithin(10_000), data).toBe(1);
      expect(failed.output()).toContain(`cannot use ${data} as the data folder (--data, COSYNC_DATA): `);
      expect(failed.output()).toContain(reason);
    }
  });

  it('refuses to start a second server on a data folder that one is serving from, and says what to do', async () => {
    const data = tempDir();
    const env = { COSYNC_ACCESS_KEY_ID: 'AKIAENVKEY', COSYNC_SECRET_ACCESS_KEY: 'env-secret' };
    const owner = serve(['--port=0', `--data=${data}`], env);
    await owner.waitFor(/cosync listening/);
    // It waits out the driver's 5 s busy timeout first, in case the owner was only shutting down.
    const second = serve(['--port=0', `--data=${data}`], env);
    expect(await second.exited).toBe(1);
    expect(second.output()).toMatch(/is in use by another process .*--workers N/);
    owner.child.kill('SIGTERM');
    expect(await owner.exited).toBe(0);
  }, 20_000);
});

describeWithPostgres('cosync serve on PostgreSQL', 'cli/serve.test.ts', () => {
  const env = { COSYNC_ACCESS_KEY_ID: 'AKIAENVKEY', COSYNC_SECRET_ACCESS_KEY: 'env-secret' };
  let schema: TestSchema;
  beforeAll(async () => {
    schema = await createTestSchema('cli_serve');
  });
  afterAll(async () => {
    await schema?.drop();
  });

  // A start that fails after the database was opened closes it: the pool's idle connections (30 s idle timeout)
  // would otherwise hold the failed process open that long.
  it('exits at once when it cannot listen', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = String((blocker.address() as AddressInfo).port);
    try {
      const failed = serve(['--port', taken, '--data', tempDir(), '--database', schema.url], env);
      expect(await failed.exitWithin(10_000)).toBe(1);
      expect(failed.output()).toContain(`cannot listen on 127.0.0.1 port ${taken} (--host, --port): listen EADDRINUSE`);
    } finally {
      blocker.close();
    }
  });

  it('warns when the server keys or the developer credentials come from the data folder, as another instance\'s would not', async () => {
    const keys = { COSYNC_SERVER_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}` };
    const cases = [
      [{ ...env, ...keys }, []],
      [env, ['server keys']],
      [keys, ['developer credentials']],
    ] as const;
    for (const [given, local] of cases) {
      const s = serve(['--port', '0', '--data', tempDir(), '--database', schema.url], given);
      await s.waitFor(/cosync listening/);
      const warning = s.output().split('\n').find((l) => l.includes("come from this instance's data folder"));
      if (local.length === 0) expect(warning, JSON.stringify(Object.keys(given))).toBeUndefined();
      else for (const what of local) expect(warning, what).toContain(what);
      s.child.kill('SIGTERM');
      expect(await s.exited).toBe(0);
    }
  });

  it('exits at once on a configuration the server refuses once the database is open', async () => {
    const failed = serve(['--port', '0', '--data', tempDir(), '--database', schema.url,
      '--sync-trigger-webhook-hosts', 'example.com'], env);
    expect(await failed.exitWithin(10_000)).toBe(1);
    expect(failed.output()).toContain('--sync-trigger-webhook-hosts needs --sync-trigger-webhook-secret');
  });
});
