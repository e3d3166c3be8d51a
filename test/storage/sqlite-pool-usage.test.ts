import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/storage/sqlite/driver.js';
import { StoreClosedError } from '../../src/storage/closed.js';
import { POOL_USAGE_CHUNK, preparePoolUsage } from '../../src/storage/sqlite/pool-usage.js';
import { openSqliteDatabase, openSqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import type { PoolUsage } from '../../src/storage/types.js';
import { turnsDuring } from '../helpers/event-loop.js';

/**
 * Pool usage on SQLite (pool-usage.ts) sums a pool chunk by chunk, with turns of the event loop between chunks: the
 * figures must be those of one aggregate over the pool, whatever its size against the chunk's, and a big pool must
 * not hold the event loop (every other request of the process waits while it does).
 */
const dir = mkdtempSync(join(tmpdir(), 'cosync-pool-usage-'));
let files = 0;
const tempFile = () => join(dir, `store-${++files}.db`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Adds `count` datasets to the pool, one per identity from `id-<first>` on, each named `name`: pools filled from the
 * same `first` with distinct names share identities, so their rows interleave in key order. Every 7th dataset is
 * deleted, and the latest change is not the last row's.
 */
function addDatasets(db: Database, poolId: string, name: string, count: number, first = 0): void {
  const insert = db.prepare(`INSERT INTO datasets (identity_id, name, pool_id, sync_count, deleted, last_deleted_at_sync_count,
      created_at, last_modified_at, last_modified_by, num_records, data_storage, merge_parent)
    VALUES (?, ?, ?, ?, ?, NULL, 1, ?, 'me', ?, ?, NULL)`);
  db.transaction(() => {
    for (let i = 0; i < count; i++) {
      const deleted = i % 7 === 3;
      const modified = 1000 + ((i * 7919) % 100_003);
      insert.run(`id-${String(first + i).padStart(6, '0')}`, name, poolId, (i % 9) + 1, deleted ? 1 : 0, modified,
        deleted ? 0 : 1, deleted ? 0 : (i * 37) % 1000 + 1);
    }
  })();
}

/** The figures of one aggregate over the pool (the statement the chunks replaced). */
function plainUsage(db: Database, poolIds: readonly string[]): PoolUsage[] {
  const sum = db.prepare<[string], { storage: number; sessions: number; modified: number | null }>(
    `SELECT COALESCE(SUM(data_storage) FILTER (WHERE deleted = 0), 0) AS storage,
       COALESCE(SUM(sync_count), 0) AS sessions, MAX(last_modified_at) AS modified FROM datasets WHERE pool_id = ?`);
  return poolIds.map((poolId) => {
    const row = sum.get(poolId)!;
    return { identityPoolId: poolId, dataStorage: row.storage, syncSessionsCount: row.sessions, lastModifiedAt: row.modified };
  });
}

describe('pool usage on SQLite, in chunks', () => {
  it('sums to the figures of one aggregate for none, fewer, one, more or a multiple of the chunk\'s datasets', async () => {
    const db = openSqliteDatabase({ file: ':memory:' });
    const sizes = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 12];
    sizes.forEach((n, p) => addDatasets(db, `pool-${n}`, `ds-${p}`, n));
    const pools = [...sizes.map((n) => `pool-${n}`), 'pool-none'];
    const expected = plainUsage(db, pools);
    for (const chunk of [1, 2, 3, 4, 6, 100]) {
      expect(await preparePoolUsage(db, () => false, chunk)(pools), `chunk ${chunk}`).toEqual(expected);
    }
    db.close();
  });

  it('sums to the figures of one aggregate at the boundaries of the chunk it runs with', async () => {
    const db = openSqliteDatabase({ file: ':memory:' });
    const sizes = [POOL_USAGE_CHUNK - 1, POOL_USAGE_CHUNK, POOL_USAGE_CHUNK + 1, 2 * POOL_USAGE_CHUNK];
    sizes.forEach((n, p) => addDatasets(db, `pool-${n}`, `ds-${p}`, n));
    const pools = sizes.map((n) => `pool-${n}`);
    expect(await preparePoolUsage(db, () => false)(pools)).toEqual(plainUsage(db, pools));
    db.close();
  });

  it('rejects at its next chunk once the store begins to close', async () => {
    const db = openSqliteDatabase({ file: ':memory:' });
    addDatasets(db, 'pool-a', 'ds', 10);
    let closing = false;
    const usage = preparePoolUsage(db, () => closing, 3)(['pool-a']);
    closing = true;
    await expect(usage).rejects.toThrow(StoreClosedError);
    db.close();

    // The store's close() stops it the same way (its handle is closed by then).
    const file = tempFile();
    const filled = openSqliteDatabase({ file });
    addDatasets(filled, 'pool-big', 'ds', 3 * POOL_USAGE_CHUNK);
    filled.close();
    const store = openSqliteStore({ file });
    const pending = store.getPoolUsage(['pool-big']);
    await store.close();
    await expect(pending).rejects.toThrow(/the store is closed/);
  });

  it('keeps serving other calls over a pool of 200,000 datasets and 60 others: the event loop is never held long', async () => {
    const file = tempFile();
    const filled = openSqliteDatabase({ file, synchronous: 'NORMAL' });
    addDatasets(filled, 'pool-big', 'ds', 200_000);
    // Each pool has identities of its own, as pools do: the rows of a chunk lie together, as they would in service.
    const small = Array.from({ length: 60 }, (_, p) => `pool-small-${String(p).padStart(2, '0')}`);
    small.forEach((poolId, p) => addDatasets(filled, poolId, 'ds', POOL_USAGE_CHUNK - 1, 200_000 + p * POOL_USAGE_CHUNK));
    // A page of ListIdentityPoolUsage holding a big pool: 100 chunks of it, then 60 pools of one chunk each.
    const pools = ['pool-big', ...small];
    const expected = plainUsage(filled, pools);
    filled.close();

    const store = openSqliteStore({ file });
    // Not measured: the first call also pays for a cold cache and, often, for collecting the filling's garbage.
    await store.getPoolUsage(pools);
    const { result, longestGapMs, turns, totalMs } = await turnsDuring(() => store.getPoolUsage(pools));
    expect(result).toEqual(expected);
    // Before chunking, the call was one synchronous statement per pool, all in one go: the gap was its whole length.
    // Relative to the call's own length, which a loaded machine stretches as much as any one chunk.
    expect(longestGapMs, `longest event-loop gap ${longestGapMs.toFixed(0)} ms, call ${totalMs.toFixed(0)} ms`)
      .toBeLessThan(totalMs / 4);
    // A turn between any two chunks, those of two pools too: 101 of the big pool (the last one finds none left)
    // and 60, so 160 turns; about 100 would mean none between pools of one chunk each.
    expect(turns).toBeGreaterThanOrEqual(150);
    await store.close();
  }, 30_000);
});
