// DeleteIdentityPool on SQLite: one short transaction marks the pool deleted, then its data goes in small
// transactions with the event loop free between them (docs/architecture.md, "Deleting a pool").
import type { Database } from './driver.js';
// `turn()`: one turn of the event loop, so other requests run between chunks (each step checks closing first).
import { setImmediate as turn } from 'node:timers/promises';
import { whenWriteLockFree } from './write-lock.js';
import { StoreClosedError } from '../closed.js';

/**
 * Most records one transaction deletes: about 15 ms of work (an audit measured ~17 µs per deleted row, indexes
 * included), so requests wait at most that long behind the deletion.
 */
export const RECORD_CHUNK = 1000;
/** Identities one transaction finishes (their records gone already: a few rows each — datasets, logins, devices). */
export const IDENTITY_CHUNK = 200;

export interface SqlitePoolDeletion {
  /**
   * deleteIdentityPool: marks the pool (synchronously, at the call), then deletes its rows chunk by chunk, yielding
   * to the event loop between chunks. True when the pool existed. A pool already marked (a deletion interrupted, or
   * under way in another call) is finished too, answering false: it was already gone for callers.
   */
  deletePool(poolId: string): Promise<boolean>;
  /** Finishes, in the background, every deletion a stopped process left marked. Failures wait for the next open. */
  resumeInterrupted(): void;
}

/**
 * `isClosing` tells the chunk loop to stop (close() must not find a chunk scheduled on a closed handle).
 * The mark (`deleted_pools`, migration 5) is what makes this safe to interrupt and to race:
 * - the pool row and its settings go in the marking transaction: every pool-level call finds no pool from then on;
 * - writeRecords reads no identity of a marked pool (statements.ts, writeState), so a racing write is refused;
 * - an identity's last rows and its row go in one transaction: a link, device or merge that read the identity before
 *   lands before that transaction (and is deleted by it) or finds no identity after;
 * - the mark goes, in the transaction that finds nothing of the pool left; one found at open is finished then.
 */
export function preparePoolDeletion(db: Database, ownsWriteLock: boolean, isClosing: () => boolean): SqlitePoolDeletion {
  const s = prepareStatements(db);
  /**
   * Each step's transaction, taken when the write lock is free: never waiting for a sibling's on this thread. A
   * step due once the store is closing is not run (the handle may be closed by then): StoreClosedError.
   */
  const locked = <T>(step: () => T): Promise<T> => whenWriteLockFree(db, ownsWriteLock, () => {
    if (isClosing()) throw new StoreClosedError();
    return step();
  });

  const mark = db.transaction((poolId: string, now: number) => {
    const existed = s.deletePoolRow.run(poolId).changes > 0;
    if (existed) s.insertMark.run(poolId, now);
    s.deleteSettings.run(poolId);
    return { existed, marked: existed || s.isMarked.get(poolId) !== undefined };
  });
  const finishIdentities = db.transaction((params: { ids: string; pool: string }) => {
    for (const stmt of s.deleteIdentitiesData) stmt.run(params);
  });
  // IMMEDIATE transactions, even for one statement: a deferred one could not take the write lock over a snapshot
  // another process wrote after (--workers); each is started through `locked`.
  const deleteRecords = db.transaction((ids: string) => s.deleteRecordsChunk.run({ ids, n: RECORD_CHUNK }).changes);
  const deleteLogins = db.transaction((pool: string) => s.deleteLoginsChunk.run({ pool, n: RECORD_CHUNK }).changes);
  /** Removes the mark when nothing of the pool is left; false when something is (written meanwhile). */
  const unmark = db.transaction((poolId: string): boolean => {
    if (s.anyLeft.get({ pool: poolId })) return false;
    s.deleteMark.run(poolId);
    return true;
  });


  /** The next identities to delete: the pool's own, then those that only wrote datasets under it. */
  function nextIdentities(poolId: string): string[] {
    const own = s.nextIdentities.all(poolId, IDENTITY_CHUNK).map((r) => r.id);
    return own.length > 0 ? own : s.nextStrays.all(poolId, IDENTITY_CHUNK).map((r) => r.id);
  }

  /** Deletes everything of a marked pool, one chunk per transaction; the mark last. */
  async function purge(poolId: string): Promise<void> {
    for (;;) {
      if (isClosing()) throw new StoreClosedError();
      const ids = nextIdentities(poolId);
      if (ids.length === 0) {
        // Logins of identities gone already (none normally: each batch deletes its identities' logins).
        while (await locked(() => deleteLogins.immediate(poolId)) > 0) await turn();
        if (await locked(() => unmark.immediate(poolId))) return;
        await turn(); // something of the pool came back between the last batch and the check: go round again
        continue;
      }
      const params = { ids: JSON.stringify(ids), pool: poolId };
      // Records first, in chunks (an identity may hold tens of thousands), each its own transaction.
      while (await locked(() => deleteRecords.immediate(params.ids)) > 0) await turn();
      await locked(() => finishIdentities.immediate(params));
      await turn();
    }
  }

  return {
    async deletePool(poolId) {
      const { existed, marked } = await locked(() => mark.immediate(poolId, Date.now()));
      if (marked) await purge(poolId);
      return existed;
    },
    resumeInterrupted() {
      setImmediate(() => {
        if (isClosing()) return;
        for (const { pool_id: poolId } of s.listMarks.all()) {
          // Left for the next open (or the next deletion of the pool) when it fails: the mark stays until done.
          purge(poolId).catch(() => {});
        }
      });
    },
  };
}

/** Statements of the pool deletion. `@ids` is a JSON array of identity IDs (one statement whatever their number). */
function prepareStatements(db: Database) {
  const q = <P extends unknown[] | {} = unknown[], R = unknown>(sql: string) => db.prepare<P, R>(sql);
  const IDS = 'SELECT value FROM json_each(@ids)';
  return {
    deletePoolRow: q<[string]>('DELETE FROM identity_pools WHERE id = ?'),
    insertMark: q<[string, number]>('INSERT OR IGNORE INTO deleted_pools (pool_id, deleted_at) VALUES (?, ?)'),
    deleteSettings: q<[string]>('DELETE FROM pool_sync_settings WHERE pool_id = ?'),
    isMarked: q<[string]>('SELECT 1 FROM deleted_pools WHERE pool_id = ?'),
    listMarks: q<[], { pool_id: string }>('SELECT pool_id FROM deleted_pools ORDER BY pool_id'),
    // Rows deleted by earlier batches are gone from the index: each batch reads only what is left, from its start.
    nextIdentities: q<[string, number], { id: string }>(
      'SELECT id FROM identities WHERE pool_id = ? ORDER BY id LIMIT CAST(? AS INTEGER)'),
    nextStrays: q<[string, number], { id: string }>(
      'SELECT DISTINCT identity_id AS id FROM datasets WHERE pool_id = ? LIMIT CAST(? AS INTEGER)'),
    // Each listed row is deleted by its primary key (EXPLAIN: a SEARCH per row, no scan).
    deleteRecordsChunk: q<{ ids: string; n: number }>(
      `DELETE FROM records WHERE (identity_id, dataset_name, key) IN (
         SELECT identity_id, dataset_name, key FROM records WHERE identity_id IN (${IDS}) LIMIT CAST(@n AS INTEGER))`),
    deleteLoginsChunk: q<{ pool: string; n: number }>(
      `DELETE FROM identity_logins WHERE (pool_id, provider_name, subject) IN (
         SELECT pool_id, provider_name, subject FROM identity_logins WHERE pool_id = @pool LIMIT CAST(@n AS INTEGER))`),
    // Everything left of a batch of identities, their rows last. Records, subscriptions and devices go whatever
    // pool they were written under (they belong to the identity); rows that name a pool, only this pool's.
    deleteIdentitiesData: [
      `DELETE FROM records WHERE identity_id IN (${IDS})`,
      `DELETE FROM subscriptions WHERE identity_id IN (${IDS})`,
      `DELETE FROM devices WHERE identity_id IN (${IDS})`,
      `DELETE FROM identity_logins WHERE identity_id IN (${IDS}) AND pool_id = @pool`,
      `DELETE FROM datasets WHERE identity_id IN (${IDS}) AND pool_id = @pool`,
      `DELETE FROM identities WHERE id IN (${IDS}) AND pool_id = @pool`,
    ].map((sql) => q<{ ids: string; pool: string }>(sql)),
    anyLeft: q<{ pool: string }>(
      `SELECT 1 WHERE EXISTS (SELECT 1 FROM identities WHERE pool_id = @pool)
         OR EXISTS (SELECT 1 FROM datasets WHERE pool_id = @pool) OR EXISTS (SELECT 1 FROM identity_logins WHERE pool_id = @pool)`),
    deleteMark: q<[string]>('DELETE FROM deleted_pools WHERE pool_id = ?'),
  };
}
