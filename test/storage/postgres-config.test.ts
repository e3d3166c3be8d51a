import { describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { loadConfig } from '../../src/config.js';

describe('storage settings', () => {
  it('default to the SQLite file in the data folder', () => {
    const c = loadConfig(['--data', '/tmp/cosync-x'], {});
    expect(c.storage).toEqual({ engine: 'sqlite', file: resolve('/tmp/cosync-x', 'cosync.sqlite'), synchronous: 'FULL', locking: 'exclusive' });
    expect(loadConfig(['--sqlite-file', '/tmp/a.db', '--sqlite-synchronous', 'NORMAL'], {}).storage)
      .toEqual({ engine: 'sqlite', file: '/tmp/a.db', synchronous: 'NORMAL', locking: 'exclusive' });
  });

  it('lock the SQLite file for one process, share it between workers', () => {
    expect(loadConfig([], {}).storage).toMatchObject({ locking: 'exclusive' });
    expect(loadConfig(['--workers', '2'], {}).storage).toMatchObject({ locking: 'shared' });
    expect(loadConfig(['--sqlite-locking', 'shared'], {}).storage).toMatchObject({ locking: 'shared' });
    expect(loadConfig([], { COSYNC_SQLITE_LOCKING: 'shared' }).storage).toMatchObject({ locking: 'shared' });
    expect(() => loadConfig(['--workers', '2', '--sqlite-locking', 'exclusive'], {})).toThrow(/cannot be used with --workers/);
    expect(() => loadConfig(['--sqlite-locking', 'none'], {})).toThrow(/exclusive or shared/);
  });

  it('select PostgreSQL with --database or DATABASE_URL, with pool defaults and overrides', () => {
    const url = 'postgres://cosync:secret@db:5432/cosync';
    expect(loadConfig(['--database', url], {}).storage).toEqual({
      engine: 'postgres', url, poolSize: 10, statementTimeoutMs: 5000, connectTimeoutMs: 5000,
    });
    expect(loadConfig(['--pg-pool-size=3', '--pg-statement-timeout', '0'], {
      DATABASE_URL: 'postgresql://h/db', COSYNC_PG_CONNECT_TIMEOUT: '250',
    }).storage).toEqual({ engine: 'postgres', url: 'postgresql://h/db', poolSize: 3, statementTimeoutMs: 0, connectTimeoutMs: 250 });
    // The flag wins over the variable.
    expect(loadConfig(['--database', url], { DATABASE_URL: 'postgres://other/db' }).storage).toMatchObject({ url });
  });

  it('refuse what cannot work', () => {
    expect(() => loadConfig(['--database', 'mysql://h/db'], {})).toThrow(/postgres:\/\//);
    expect(() => loadConfig(['--database', 'postgres://h/db', '--sqlite-file', 'x.db'], {})).toThrow(/exclude each other/);
    expect(() => loadConfig(['--pg-pool-size', '0'], {})).toThrow(/--pg-pool-size/);
    expect(() => loadConfig(['--database', 'postgres://h/db', '--sqlite-locking', 'shared'], {})).toThrow(/exclude each other/);
  });
});
