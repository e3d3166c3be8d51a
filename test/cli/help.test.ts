import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig, SETTINGS } from '../../src/config.js';

/** `cosync <args>` as a user runs it (the built dist/), to its exit; no server starts. */
function cosync(...args: string[]) {
  const bin = new URL('../../bin/cosync.js', import.meta.url).pathname;
  const run = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '' } });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('cosync --version', () => {
  it('prints the version in package.json, and only that, on stdout', () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const args of [['--version'], ['version'], ['serve', '--version']]) {
      expect(cosync(...args), args.join(' ')).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
    }
  });
});

/** The settings a help text lists: flag → its variable and the default shown. */
function listedSettings(help: string): Map<string, { env: string; shown: string }> {
  return new Map([...help.matchAll(/^ {2}--(\S+) +(\S+) +(.+)$/gm)].map(([, flag, env, shown]) => [flag!, { env: env!, shown: shown! }]));
}

describe('cosync help', () => {
  const help = cosync('help');

  it('lists every setting with its variable and its default, as --help and serve --help do', () => {
    expect(help.code).toBe(0);
    expect(cosync('--help').stdout).toBe(help.stdout);
    expect(cosync('serve', '--help').stdout).toBe(help.stdout);
    const listed = listedSettings(help.stdout);
    expect([...listed.keys()]).toEqual(SETTINGS.map((s) => s.flag));
    for (const s of SETTINGS) expect(listed.get(s.flag)?.env, s.flag).toBe(s.env);
    expect(listed.get('port')?.shown).toBe('8080');
    expect(listed.get('max-connections')?.shown).toBe('none');
    // The settings without a flag.
    for (const env of ['COSYNC_ACCESS_KEY_ID', 'COSYNC_SECRET_ACCESS_KEY', 'COSYNC_SERVER_KEYS', 'COSYNC_ACCOUNT_ID']) {
      expect(help.stdout).toContain(env);
    }
  });

  it('shows the defaults the parser starts from: each given as its flag changes nothing', () => {
    const defaults = loadConfig([], {});
    // Words ("none", "the listening address", "<data>/…") say what happens; the rest are values a flag can take.
    const values = [...listedSettings(help.stdout)].filter(([, { shown }]) => !/^none|[ <]/.test(shown));
    expect(values.length).toBeGreaterThan(25);
    for (const [flag, { shown }] of values) {
      // The PostgreSQL settings count only with a database: compared there, against the same database's defaults.
      const pg = flag.startsWith('pg-') ? ['--database', 'postgres://db.invalid/cosync'] : [];
      const base = pg.length > 0 ? loadConfig(pg, {}) : defaults;
      expect(loadConfig([...pg, `--${flag}`, shown], {}), `--${flag} ${shown}`).toEqual(base);
    }
  });

  it('agrees with the table of docs/configuration.md, which may say more', () => {
    const docs = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    const rows = new Map([...docs.matchAll(/^\| `--([a-z-]+)` \| `([A-Z_]+)` \| ([^|]*) \|/gm)]
      .map(([, flag, env, shown]) => [flag!, { env: env!, shown: shown!.replaceAll('`', '') }]));
    const listed = listedSettings(help.stdout);
    expect([...rows.keys()]).toEqual([...listed.keys()]);
    for (const [flag, { env, shown }] of listed) {
      expect(rows.get(flag)?.env, flag).toBe(env);
      expect(rows.get(flag)?.shown.startsWith(shown), `--${flag}: docs say '${rows.get(flag)?.shown}', help '${shown}'`).toBe(true);
    }
  });
});
