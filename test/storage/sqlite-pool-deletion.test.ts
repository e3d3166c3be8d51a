import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Database } from '../../src/storage/sqlite/driver.js';
import { openSqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import type { SyncStore } from '../../src/storage/store.js';
import type { DatasetWriteState } from '../../src/storage/types.js';
import { command, identity, pool, putPlan, write } from './conformance.js';

/**
 * DeleteIdentityPool of a big pool on SQLite (pool-deletion.ts): it must not hold the event loop (every other
 * request of the process waits while it does), and a deletion stopped half-way is finished at the next open.
 */
const dir = mkdtempSync(join(tmpdir(), 'cosync-pool-deletion-'));
let files = 0;
const tempFile = () => join(dir, `store-${++files}.db`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const P = 'us-east-1:big-pool';
const KEPT = 'us-east-1:kept-pool';
const idOf = (i: number) => `us-east-1:big-${String(i).padStart(5, '0')}`;

/** A pool of `identities` identities, the first `withData` of them holding 2 datasets of `records` records each. */
async function fillPool(store: SyncStore, o: { identities: number; withData: number; records: number }): Promise<void> {
  await store.createIdentityPool(pool(P));
  await store.createIdentityPool(pool(KEPT));
  await store.createIdentity(identity('us-east-1:kept', KEPT));
  await write(store, 'us-east-1:kept', 'ds', { k: 'v' }, { poolId: KEPT });
  const values = Object.fromEntries(Array.from({ length: o.records }, (_, k) => [`key-${k}`, `value-${k}-`.padEnd(64, 'x')]));
  for (let i = 0; i < o.identities; i++) await store.createIdentity(identity(idOf(i), P));
  const writes: Promise<unknown>[] = [];
  for (let i = 0; i < o.withData; i++) {
    for (const ds of ['a', 'b']) writes.push(write(store, idOf(i), ds, values, { poolId: P }));
  }
  await Promise.all(writes);
}

/** Rows of the pool left in the file, by table, read on a connection of its own. */
function leftovers(file: string): Record<string, number> {
  const db = new Database(file);
  try {
    const ids = `SELECT id FROM identities WHERE pool_id = '${P}' UNION SELECT identity_id FROM datasets WHERE pool_id = '${P}'`;
    const counts: Record<string, number> = {
      identities: db.prepare(`SELECT COUNT(*) AS n FROM identities WHERE pool_id = '${P}'`).pluck().get() as number,
      datasets: db.prepare(`SELECT COUNT(*) AS n FROM datasets WHERE pool_id = '${P}'`).pluck().get() as number,
      records: db.prepare(`SELECT COUNT(*) AS n FROM records WHERE identity_id IN (${ids})`).pluck().get() as number,
      // (A file of a release before migration 5 has no marks.)
      marks: db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'deleted_pools'").get() === undefined ? 0
        : db.prepare(`SELECT COUNT(*) AS n FROM deleted_pools WHERE pool_id = '${P}'`).pluck().get() as number,
    };
    return Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0));
  } finally {
    db.close();
  }
}

/** The longest time between two turns of the event loop while it runs (a 1 ms timer that notes how late it fires). */
function watchEventLoop(): () => number {
  let last = performance.now();
  let longest = 0;
  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    timer = setTimeout(tick, 1);
  };
  timer = setTimeout(tick, 1);
  return () => {
    clearTimeout(timer);
    return Math.max(longest, performance.now() - last);
  };
}

/** A file holding a filled pool whose deletion the store's close stopped after the mark (made at the call). */
async function interruptedDeletion(size: { identities: number; withData: number; records: number }): Promise<string> {
  const file = tempFile();
  const store = openSqliteStore({ file });
  await fillPool(store, size);
  const deleting = store.deleteIdentityPool(P);
  await store.close();
  await expect(deleting).rejects.toThrow(/closed/);
  return file;
}

describe('DeleteIdentityPool of a big pool on SQLite', () => {
  it('keeps serving other calls while it deletes 100,000 records: the event loop is never held long', async () => {
    const file = tempFile();
    // NORMAL: no fsync at each commit, whose time (the disk's, not the deletion's) would blur the measure.
    const store = openSqliteStore({ file, synchronous: 'NORMAL' });
    await fillPool(store, { identities: 2000, withData: 200, records: 250 });
    expect(leftovers(file).records).toBe(100_000);

    let served = 0;
    let deleting = true;
    const reader = (async () => {
      for (; deleting; served++) {
        expect((await store.getDataset('us-east-1:kept', 'ds'))?.numRecords).toBe(1);
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const longestGap = watchEventLoop();
    const started = performance.now();
    expect(await store.deleteIdentityPool(P)).toBe(true);
    const took = performance.now() - started;
    const gap = longestGap();
    deleting = false;
    await reader;

    // Before chunking, the whole deletion was one synchronous transaction: the gap was the deletion's time.
    // Relative to the deletion's own length, which a loaded machine stretches as much as any one chunk.
    expect(gap, `longest event-loop gap ${gap.toFixed(0)} ms, deletion ${took.toFixed(0)} ms`).toBeLessThan(took / 4);
    expect(served).toBeGreaterThan(10);
    expect(leftovers(file)).toEqual({});
    expect(await store.getIdentityPool(P)).toBeUndefined();
    expect(await store.listIdentities(P, { limit: 10 })).toEqual([]);
    expect(await store.getIdentity('us-east-1:kept')).toBeDefined();
    expect(await store.deleteIdentityPool(P)).toBe(false);
    await store.close();
  }, 20_000);

  it('refuses a write of an identity whose rows are not deleted yet, from the moment the pool is marked', async () => {
    const store = openSqliteStore({ file: tempFile() });
    await fillPool(store, { identities: 1000, withData: 0, records: 0 });
    const last = idOf(999);
    const deleted = store.deleteIdentityPool(P);
    // The pool is gone for callers at once, and so are its identities, although the last identity's row is deleted
    // in the last batch.
    expect(await store.getIdentityPool(P)).toBeUndefined();
    expect(await store.getIdentity(last)).toBeUndefined();
    const c = command(last, 'late', ['k'], { identityPoolId: P });
    let seen: DatasetWriteState | undefined;
    await store.writeRecords(c, (state) => {
      seen = state;
      // As the UpdateRecords operation does: no identity, no write.
      if (!state.identity) return { dataset: undefined, records: [] };
      return putPlan(c, { k: 'v' })(state);
    });
    expect(seen?.identity).toBeUndefined();
    expect(await deleted).toBe(true);
    expect(await store.getDataset(last, 'late')).toBeUndefined();
    expect(await store.getIdentity(last)).toBeUndefined();
    await store.close();
  });

  it('a deletion stopped half-way (the store closed) is finished by the next deletion of the pool', async () => {
    const file = await interruptedDeletion({ identities: 600, withData: 60, records: 100 });
    const left = leftovers(file);
    expect(left.marks).toBe(1);
    expect(left.identities).toBeGreaterThan(0);
    expect(left.records).toBeGreaterThan(0);

    const second = openSqliteStore({ file });
    expect(await second.getIdentityPool(P)).toBeUndefined();
    // Already gone for callers (false: ResourceNotFoundException), but finished before it answers.
    expect(await second.deleteIdentityPool(P)).toBe(false);
    expect(leftovers(file)).toEqual({});
    expect((await second.getDataset('us-east-1:kept', 'ds'))?.numRecords).toBe(1);
    await second.close();
  }, 20_000);

  it('a mark found at open is finished in the background, without a call', async () => {
    const file = await interruptedDeletion({ identities: 300, withData: 30, records: 50 });
    expect(leftovers(file).identities).toBeGreaterThan(0);

    const second = openSqliteStore({ file });
    for (let waited = 0; Object.keys(leftovers(file)).length > 0 && waited < 10_000; waited += 20) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(leftovers(file)).toEqual({});
    await second.close();
  }, 20_000);

  it('waits for another connection\'s write lock (a --workers sibling) without holding the event loop', async () => {
    const file = tempFile();
    const store = openSqliteStore({ file, exclusive: false });
    await fillPool(store, { identities: 20, withData: 5, records: 10 });
    const sibling = new Database(file);
    sibling.prepare('BEGIN IMMEDIATE').run();
    let done = false;
    const deletion = store.deleteIdentityPool(P).then((existed) => { done = true; return existed; });
    let ticks = 0;
    const ticker = setInterval(() => { ticks += 1; }, 5);
    await new Promise((r) => setTimeout(r, 300));
    clearInterval(ticker);
    expect(done).toBe(false);
    expect(ticks).toBeGreaterThan(20);
    sibling.prepare('COMMIT').run();
    sibling.close();
    expect(await deletion).toBe(true);
    expect(leftovers(file)).toEqual({});
    await store.close();
  });
});
