import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COSYNC_BIN, serveEnvironment } from '../helpers/processes.js';

/**
 * Cosync instances as real processes (`node bin/cosync.js serve --database …`, as an operator starts them), all on
 * one PostgreSQL database. They share the developer credentials and server keys through the environment, as
 * docs/postgres.md asks, and run with throttling off unless told otherwise.
 */

export interface ServerProcess {
  readonly endpoint: string;
  readonly child: ChildProcess;
  /** Everything the process printed so far (for failure messages). */
  output(): string;
  /** SIGTERM, then waits for the exit (SIGKILL after 10 s). */
  stop(): Promise<void>;
}

export interface ServeOptions {
  readonly databaseUrl: string;
  readonly poolSize?: number;
  /** Extra environment (e.g. COSYNC_THROTTLE_POOL_RPS); throttling is off by default. */
  readonly env?: Record<string, string>;
}

export async function startServeProcess(options: ServeOptions): Promise<ServerProcess> {
  const data = mkdtempSync(join(tmpdir(), 'cosync-pg-proc-'));
  const child = spawn(process.execPath, [
    COSYNC_BIN, 'serve', '--port', '0', '--host', '127.0.0.1', '--data', data, '--log-level', 'info',
    '--database', options.databaseUrl, '--pg-pool-size', String(options.poolSize ?? 6),
  ], {
    env: serveEnvironment(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => { output += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { output += d.toString(); });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(data, { recursive: true, force: true });
  };
  try {
    const endpoint = await waitFor(() => /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(output)?.[1], child, () => output);
    return { endpoint, child, output: () => output, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function waitFor(found: () => string | undefined, child: ChildProcess, output: () => string): Promise<string> {
  const start = Date.now();
  for (;;) {
    const value = found();
    if (value) return value;
    if (child.exitCode !== null || Date.now() - start > 20_000) {
      throw new Error(`cosync serve did not start:\n${output()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
