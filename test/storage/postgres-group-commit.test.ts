import { describe, expect, it } from 'vitest';
import { errors, type ServiceError } from '../../src/api/errors.js';
import { openPostgresStore } from '../../src/storage/postgres/postgres-store.js';
import { createDb } from '../../src/storage/postgres/pool.js';
import { writeBatcher } from '../../src/storage/postgres/write-batcher.js';
import type { DatasetWriteState, WriteCommand, WritePlan } from '../../src/storage/types.js';
import { describeWithPostgres, sharedSchema } from './postgres-support.js';

/**
 * Group commit of the PostgreSQL adapter (src/storage/postgres/write-batcher.ts): concurrent writes of different
 * identities share transactions, each is still all or nothing on its own, and two writes of one identity never
 * share a batch (the second plan sees the first's result).
 */
describeWithPostgres('PostgreSQL group commit', 'test/storage/postgres-group-commit.test.ts', () => {
  const schema = sharedSchema('group_commit');

  let sessions = 0;
  const command = (identityId: string, key = 'k'): WriteCommand => ({
    identityPoolId: 'pool-a', identityId, datasetName: 'ds', keys: [key], sessionId: `gc-${++sessions}`, sessionExpiresAt: 1e12,
  });
  /** Puts `value` at the next count, as the domain's planner would; refuses when told to. */
  const put = (c: WriteCommand, value: string, refuse = false) => (state: DatasetWriteState): WritePlan => {
    if (refuse) throw errors.conflict(`refused ${c.identityId}`);
    const syncCount = (state.dataset?.syncCount ?? 0) + 1;
    return {
      dataset: {
        identityId: c.identityId, datasetName: c.datasetName, syncCount, deleted: false, lastDeletedAtSyncCount: null,
        createdAt: 1, lastModifiedAt: 1, lastModifiedBy: 'tester', numRecords: 1, dataStorage: 0, mergeParent: null,
      },
      records: [{ key: c.keys[0]!, value, syncCount, lastModifiedAt: 1, lastModifiedBy: 'tester', deviceLastModifiedAt: 1 }],
    };
  };
  const commits = async () => Number((await schema.query(
    'SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()')).rows[0].xact_commit);

  describe('PostgreSQL group commit', () => {
    it('commits concurrent writes of different identities together; a refused one alone writes nothing', async () => {
      // Pool size 2: one batch in flight at a time, so the others queue and go together.
      const store = await openPostgresStore({ url: schema.url, poolSize: 2, statementTimeoutMs: 5000, connectTimeoutMs: 5000 });
      try {
        await store.getDataset('warm', 'ds');
        const before = await commits();
        const results = await Promise.allSettled(Array.from({ length: 60 }, (_, i) => {
          const c = command(`id-${String(i).padStart(2, '0')}`);
          return store.writeRecords(c, put(c, `v${i}`, i % 10 === 3));
        }));
        const after = await commits();
        const refused = results.flatMap((r, i) => (r.status === 'rejected' ? [i] : []));
        expect(refused).toEqual([3, 13, 23, 33, 43, 53]);
        for (const i of refused) expect(((results[i] as PromiseRejectedResult).reason as ServiceError).code).toBe('ResourceConflictException');
        for (let i = 0; i < 60; i++) {
          const id = `id-${String(i).padStart(2, '0')}`;
          const listed = await store.listRecords(id, 'ds', { sinceSyncCount: 0, upToSyncCount: 1e9 }, { limit: 5 });
          expect(listed.map((r) => [r.value, r.syncCount])).toEqual(refused.includes(i) ? [] : [[`v${i}`, 1]]);
          expect(await store.isSessionConsumed(id, { sessionId: `gc-${sessions - 59 + i}`, expiresAt: 1e12 })).toBe(!refused.includes(i));
        }
        // Far fewer transactions than writes (the statistics count the database's commits, other sessions too,
        // hence a bound rather than an exact figure).
        expect(after - before).toBeLessThan(30);
      } finally {
        await store.close();
      }
    });

    it('never puts two writes of one identity in one batch: each plan sees the one before', async () => {
      const store = await openPostgresStore({ url: schema.url, poolSize: 2, statementTimeoutMs: 5000, connectTimeoutMs: 5000 });
      try {
        const seen: number[] = [];
        const written = await Promise.all(Array.from({ length: 20 }, (_, i) => {
          const c = command(i % 2 ? 'same' : `other-${i}`, `k${i}`);
          return store.writeRecords(c, (state) => {
            if (c.identityId === 'same') seen.push(state.dataset?.syncCount ?? 0);
            return put(c, String(i))(state);
          });
        }));
        const counts = written.filter((_, i) => i % 2).map((p) => p.dataset!.syncCount).sort((x, y) => x - y);
        expect(counts).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        expect([...seen].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      } finally {
        await store.close();
      }
    });

    it('plans the batch statements afresh every time rather than with a cached generic plan', async () => {
      (await openPostgresStore({ url: schema.url, poolSize: 1, statementTimeoutMs: 5000, connectTimeoutMs: 5000 })).close();
      // One connection, so the statements' plan counters below are those of the connection that ran the batches.
      const db = createDb({ url: schema.url, poolSize: 1, statementTimeoutMs: 5000, connectTimeoutMs: 5000 });
      try {
        const write = writeBatcher(db, { maxInFlight: 1, maxBatch: 8 });
        for (let i = 0; i < 12; i++) {
          const c = command(`plans-${i % 3}`);
          await write(c, put(c, `v${i}`));
        }
        const { rows } = await db.query<{ name: string; generic_plans: number; custom_plans: number }>({
          text: `SELECT name, generic_plans, custom_plans FROM pg_prepared_statements
                 WHERE name IN ('cosync_lock_identities', 'cosync_write_states', 'cosync_apply_plans') ORDER BY name`,
        });
        expect(rows.map((r) => [r.name, Number(r.generic_plans), Number(r.custom_plans)])).toEqual([
          ['cosync_apply_plans', 0, 12], ['cosync_lock_identities', 0, 12], ['cosync_write_states', 0, 12],
        ]);
      } finally {
        await db.end();
      }
    });
  });
});
