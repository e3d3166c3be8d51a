import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import type { Database } from './driver.js';

/** How long a write waits for another process's write lock before it fails. */
export const BUSY_TIMEOUT_MS = 5000;
/**
 * How long a write that found the write lock taken tries again on every turn of the event loop before it falls back
 * to trying every millisecond. A sibling worker's commit holds the lock about a millisecond; a timer would let the
 * lock sit free for most of the next one, while a longer holder (a big import) should not cost a spinning core.
 */
export const LOCK_SPIN_MS = 10;

/**
 * Runs `take`, which begins a write transaction (BEGIN IMMEDIATE) and does its work, with SQLite's busy handler off:
 * undefined, with nothing done, when another connection (a `--workers` sibling, any SQLite client) holds the write
 * lock. The handler would otherwise sleep on this thread and stall every request of the process.
 */
export function tryWithoutWaiting<T>(db: Database, take: () => T): { value: T } | undefined {
  // Compiled on every call, as it must be: SQLite applies busy_timeout while compiling. db.exec rather than
  // db.pragma, which also builds a Statement object each time and costs about five times as much.
  db.exec('PRAGMA busy_timeout = 0');
  try {
    return { value: take() };
  } catch (error) {
    if ((error as { code?: unknown }).code === 'SQLITE_BUSY') return undefined;
    throw error;
  } finally {
    db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
  }
}

/**
 * Runs `take` (as tryWithoutWaiting) once the write lock is free, trying again on later turns of the event loop
 * (each turn for LOCK_SPIN_MS, then every millisecond) up to BUSY_TIMEOUT_MS. A connection that owns the write lock
 * (exclusive locking, a private in-memory database) runs it at once.
 */
export async function whenWriteLockFree<T>(db: Database, ownsWriteLock: boolean, take: () => T): Promise<T> {
  if (ownsWriteLock) return take();
  const start = performance.now();
  for (;;) {
    const done = tryWithoutWaiting(db, take);
    if (done) return done.value;
    const waited = performance.now() - start;
    if (waited >= BUSY_TIMEOUT_MS) throw new Error(`database is locked: no write lock within ${BUSY_TIMEOUT_MS} ms`);
    await (waited < LOCK_SPIN_MS ? nextTurn() : sleep(1));
  }
}
