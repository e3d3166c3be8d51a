/**
 * A database that stops answering without closing its connections (a stalled host, a network partition): a call
 * fails after one client-side timeout (the statement timeout and 5 s more, pool.ts) instead of being tried again on
 * every other pooled connection, each of which waits as long.
 */
import { expect, it } from 'vitest';
import { createDb } from '../../src/storage/postgres/pool.js';
import { StorageUnavailableError } from '../../src/storage/unavailable.js';
import { describeWithPostgres, PG_URL, pgTarget, sharedSchema, startTcpProxy, viaPort } from './postgres-support.js';

describeWithPostgres('a database that stops answering', 'storage/postgres-stall.test.ts', () => {
  const schema = sharedSchema('stall');

  it('fails a read after one client-side timeout, on the one connection it was sent on', async () => {
    const proxy = await startTcpProxy(pgTarget(PG_URL));
    const db = createDb({ url: viaPort(schema.url, proxy.port), poolSize: 4, statementTimeoutMs: 100, connectTimeoutMs: 2000 });
    try {
      // Four pooled connections, alive and idle: the ones a retry would take.
      await Promise.all([0, 1, 2, 3].map(() => db.read({ text: 'SELECT pg_sleep(0.05)' })));
      // From now on nothing the database sends reaches the server, and no connection closes.
      proxy.delayMs = 20_000;
      const since = Date.now();
      const failure = await db.read({ text: 'SELECT 1' }).then(() => undefined, (err: unknown) => err);
      expect(failure).toBeInstanceOf(StorageUnavailableError);
      expect(String((failure as Error).cause)).toContain('Query read timeout');
      expect(proxy.clientsSendingSince(since)).toBe(1);
    } finally {
      await db.end().catch(() => {});
      await proxy.close();
    }
  });
});
