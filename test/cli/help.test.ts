import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/** `cosync <args>` as a user runs it (the built dist/), to its exit; no server starts. */
function cosync(...args: string[]) {
  const bin = new URL('../../bin/cosync.js', import.meta.url).pathname;
  const run = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '' } });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('cosync --version', () => {
  it('prints the version in package.json, and only that, on stdout', () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const args of [['--version'], ['version']]) {
      expect(cosync(...args), args.join(' ')).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
    }
  });
});
