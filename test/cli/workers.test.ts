import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CognitoIdentityClient, CreateIdentityPoolCommand, GetIdCommand } from '@aws-sdk/client-cognito-identity';
import {
  CognitoSyncClient, ListRecordsCommand, UpdateRecordsCommand, type UpdateRecordsCommandOutput,
} from '@aws-sdk/client-cognito-sync';
import { put, write } from '../api/sync-helpers.js';

/**
 * `cosync serve --workers 2`: two worker processes on one SQLite file behind one port (src/cluster.ts). Every
 * SDK client below has its own connections, which the cluster hands to the workers in turn, so writes race
 * across processes for SQLite's write lock.
 */
const BIN = new URL('../../bin/cosync.js', import.meta.url).pathname;
const credentials = { accessKeyId: 'AKIAWORKERSTEST', secretAccessKey: 'workers-test-secret' };
let primary: ChildProcess;
let output = '';
let endpoint = '';
let dir = '';
let poolId = '';

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const found = probe();
    if (found !== undefined) return found;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}; output:\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const workerPids = (): number[] => {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(primary.pid)], { encoding: 'utf8' })
      .split('\n').map((l) => Number(l.trim())).filter((pid) => pid > 0);
  } catch {
    return []; // ps exits 1 when there are none
  }
};
const newSync = () => new CognitoSyncClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cosync-workers-'));
  // Sixteen clients of one identity write at once below: per-identity throttling would answer some with 429.
  primary = spawn(process.execPath, [BIN, 'serve', '--workers', '2', '--port', '0', '--data', dir, '--throttle-identity-rps', '0'], {
    env: { PATH: process.env['PATH'] ?? '', COSYNC_ACCESS_KEY_ID: credentials.accessKeyId, COSYNC_SECRET_ACCESS_KEY: credentials.secretAccessKey },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  primary.stdout?.on('data', (d: Buffer) => { output += d.toString(); });
  primary.stderr?.on('data', (d: Buffer) => { output += d.toString(); });
  endpoint = await waitFor('cosync listening', () => /"url":"(http:\/\/127\.0\.0\.1:\d+)".*cosync listening/.exec(output)?.[1]);
  const identity = new CognitoIdentityClient({ endpoint, region: 'us-east-1', credentials });
  const pool = await identity.send(new CreateIdentityPoolCommand({ IdentityPoolName: 'workers', AllowUnauthenticatedIdentities: true }));
  poolId = pool.IdentityPoolId ?? '';
});

afterAll(() => {
  primary?.kill('SIGKILL');
  for (const pid of workerPids()) process.kill(pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

async function newIdentity(): Promise<string> {
  const identity = new CognitoIdentityClient({ endpoint, region: 'us-east-1', credentials });
  return (await identity.send(new GetIdCommand({ IdentityPoolId: poolId }))).IdentityId ?? '';
}

describe('cosync serve --workers 2 on one SQLite file', () => {
  it('runs two worker processes under the primary', () => {
    expect(workerPids()).toHaveLength(2);
    expect(output).toContain('"workers":2');
  });

  it('serialises racing UpdateRecords across the workers: exactly one writer per sync count wins', async () => {
    const identityId = await newIdentity();
    for (let round = 0; round < 5; round++) {
      // Twelve clients, twelve connections, both workers: each takes a session, then all write at once with the
      // same expected sync count.
      const writers = Array.from({ length: 12 }, newSync);
      const sessions = await Promise.all(writers.map((sync) => sync.send(new ListRecordsCommand({
        IdentityPoolId: poolId, IdentityId: identityId, DatasetName: 'race',
      }))));
      const results = await Promise.allSettled(writers.map((sync, i) => sync.send(new UpdateRecordsCommand({
        IdentityPoolId: poolId, IdentityId: identityId, DatasetName: 'race', SyncSessionToken: sessions[i]!.SyncSessionToken,
        RecordPatches: [put('k', `round ${round} writer ${i}`, round)],
      }))));
      const won = results.filter((r): r is PromiseFulfilledResult<UpdateRecordsCommandOutput> => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost.map((r) => (r.reason as Error).name)).toEqual(Array(11).fill('ResourceConflictException'));
      expect(won[0]!.value.Records?.[0]?.SyncCount).toBe(round + 1);
    }
    const final = await newSync().send(new ListRecordsCommand({ IdentityPoolId: poolId, IdentityId: identityId, DatasetName: 'race' }));
    expect(final.DatasetSyncCount).toBe(5);
  });

  it('keeps every acknowledged write when many clients write different datasets at once', async () => {
    const identityId = await newIdentity();
    const acknowledged = await Promise.all(Array.from({ length: 16 }, async (_, i) => {
      const sync = newSync();
      const ref = { poolId, identityId, dataset: `d${i % 8}` };
      const keys: string[] = [];
      for (let n = 0; n < 5; n++) {
        const key = `c${i}-n${n}`;
        // Two clients share each dataset; a conflict on the dataset's count is retried as an app would.
        for (;;) {
          try {
            await write(sync, ref, [put(key, `value ${i}/${n}`)]);
            break;
          } catch (err) {
            if ((err as Error).name !== 'ResourceConflictException') throw err;
          }
        }
        keys.push(key);
      }
      return { dataset: ref.dataset, keys };
    }));
    const reader = newSync();
    for (let d = 0; d < 8; d++) {
      const listed = await reader.send(new ListRecordsCommand({ IdentityPoolId: poolId, IdentityId: identityId, DatasetName: `d${d}` }));
      const present = new Set(listed.Records?.map((r) => r.Key));
      for (const a of acknowledged.filter((x) => x.dataset === `d${d}`)) for (const key of a.keys) expect(present).toContain(key);
      // Ten acknowledged writes, each one increment.
      expect(listed.DatasetSyncCount).toBe(10);
    }
  });

  it('replaces a worker that dies, and keeps serving', async () => {
    const [victim] = workerPids();
    process.kill(victim!, 'SIGKILL');
    const replaced = await waitFor('a replacement worker', () => {
      const pids = workerPids();
      return pids.length === 2 && !pids.includes(victim!) ? pids : undefined;
    });
    expect(replaced).toHaveLength(2);
    await waitFor('the replacement logged', () => (output.includes('worker exited; starting a replacement') ? true : undefined));
    const identityId = await newIdentity();
    const written = await write(newSync(), { poolId, identityId, dataset: 'after' }, [put('k', 'v')]);
    expect(written.Records?.[0]?.SyncCount).toBe(1);
  });

  it('stops every worker gracefully on SIGTERM', async () => {
    const pids = workerPids();
    const exited = new Promise<number | null>((resolve) => primary.on('exit', (code) => resolve(code)));
    primary.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toContain('stopped');
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
  });
});

describe('cosync serve --workers 2 that cannot start', () => {
  /** Runs `cosync serve --workers 2 <args>` on a fresh data folder until it exits (or `ms` pass). */
  async function failedStart(args: string[], ms = 10_000) {
    const data = mkdtempSync(join(tmpdir(), 'cosync-workers-fail-'));
    const child = spawn(process.execPath, [BIN, 'serve', '--workers', '2', '--data', data, ...args], {
      env: { PATH: process.env['PATH'] ?? '', COSYNC_ACCESS_KEY_ID: credentials.accessKeyId, COSYNC_SECRET_ACCESS_KEY: credentials.secretAccessKey },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    child.stdout?.on('data', (d: Buffer) => { text += d.toString(); });
    child.stderr?.on('data', (d: Buffer) => { text += d.toString(); });
    const code = await Promise.race([
      new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c))),
      new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), ms)),
    ]);
    // Workers are forked with the primary's arguments, so any process naming this data folder is one left behind.
    const left = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(data))
      .map((l) => Number(l.trim().split(' ')[0]));
    child.kill('SIGKILL');
    for (const pid of left) process.kill(pid, 'SIGKILL');
    rmSync(data, { recursive: true, force: true });
    return { code, output: text, left };
  }

  it('exits non-zero at once, with the reason, when the port is in use', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = String((blocker.address() as AddressInfo).port);
    try {
      const { code, output: text, left } = await failedStart(['--port', taken]);
      expect(code).toBe(1);
      expect(text).toContain(`cannot listen on 127.0.0.1 port ${taken} (--host, --port): bind EADDRINUSE`);
      expect(text).toMatch(/worker \d+ exited with 1 before it listened/);
      expect(left).toEqual([]);
    } finally {
      blocker.close();
    }
  });

  it('exits non-zero at once, with the reason, when the workers refuse the configuration', async () => {
    const { code, output: text, left } = await failedStart(['--port', '0', '--sync-trigger-webhook-hosts', 'example.com']);
    expect(code).toBe(1);
    expect(text).toContain('--sync-trigger-webhook-hosts needs --sync-trigger-webhook-secret');
    expect(text).toMatch(/worker \d+ exited with 1 before it listened/);
    expect(left).toEqual([]);
  });
});

describe('cosync serve --workers 2 whose worker fails its graceful stop', () => {
  const FAULT = new URL('../fixtures/worker-fault.mjs', import.meta.url).pathname;

  /**
   * Serves with two workers and the `fault` of test/fixtures/worker-fault.mjs, runs `before` (given the workers'
   * pids and a wait for a pattern in the output), then sends SIGTERM to the primary and waits for it to exit.
   */
  async function stopWithFault(
    fault: string, before: (pids: number[], seen: (pattern: RegExp) => Promise<unknown>) => Promise<void> = async () => {},
  ) {
    const data = mkdtempSync(join(tmpdir(), 'cosync-workers-fault-'));
    const child = spawn(process.execPath, ['--import', FAULT, BIN, 'serve', '--workers', '2', '--port', '0', '--data', data], {
      env: {
        PATH: process.env['PATH'] ?? '', COSYNC_TEST_WORKER_FAULT: fault,
        COSYNC_ACCESS_KEY_ID: credentials.accessKeyId, COSYNC_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    child.stdout?.on('data', (d: Buffer) => { text += d.toString(); });
    child.stderr?.on('data', (d: Buffer) => { text += d.toString(); });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    try {
      await waitFor('cosync listening', () => (text.includes('cosync listening') ? true : undefined));
      const pids = execFileSync('ps', ['-o', 'pid=', '--ppid', String(child.pid)], { encoding: 'utf8' })
        .split('\n').map((l) => Number(l.trim())).filter((pid) => pid > 0);
      await before(pids, (pattern) => waitFor(`${pattern}`, () => (pattern.test(text) ? true : undefined)));
      child.kill('SIGTERM');
      const code = await exited;
      return { code, output: text, pids, left: pids.filter((pid) => { try { return process.kill(pid, 0); } catch { return false; } }) };
    } finally {
      child.kill('SIGKILL');
      rmSync(data, { recursive: true, force: true });
    }
  }

  it('exits 1 and names the worker when one exits non-zero during the stop', async () => {
    const { code, output: text, pids, left } = await stopWithFault('exit:3');
    expect(code).toBe(1);
    const failed = /worker (\d+) exited with code 3 during the stop/.exec(text);
    expect(failed, text).not.toBeNull();
    expect(pids).toContain(Number(failed![1]));
    expect(text).not.toMatch(/"msg":"stopped"/);
    expect(left).toEqual([]);
  });

  it('exits 1 and names the worker when one is killed by a signal during the stop', async () => {
    const { code, output: text, pids } = await stopWithFault('signal:SIGKILL');
    expect(code).toBe(1);
    const failed = /worker (\d+) was killed by SIGKILL during the stop/.exec(text);
    expect(failed, text).not.toBeNull();
    expect(pids).toContain(Number(failed![1]));
  });

  it('exits 1 at the stop, naming the worker, when a worker that died could not be replaced', async () => {
    let victim = 0;
    const { code, output: text } = await stopWithFault('replacement', async ([pid], seen) => {
      victim = pid!;
      process.kill(victim, 'SIGKILL');
      await seen(/replacement worker failed to start/);
    });
    expect(code).toBe(1);
    expect(text).toContain(`a replacement for worker ${victim} failed to start`);
  });
});
