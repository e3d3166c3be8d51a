// DeleteIdentityPool on PostgreSQL: one short transaction marks the pool deleted, then its data goes in short
// statements and transactions, each far below the statement timeout (docs/postgres.md, "DeleteIdentityPool").
import { BEGIN, COMMIT, type Db, type Statement } from './pool.js';
import { StoreClosedError } from '../closed.js';

/** Most records (or consumed-session markers) one statement deletes: tens of milliseconds (~6 µs per row). */
export const ROW_CHUNK = 5000;
/** Identities one transaction locks and finishes (their records gone already: a few rows each). */
export const IDENTITY_CHUNK = 500;

export interface PgPoolDeletion {
  /**
   * deleteIdentityPool: marks the pool, then deletes its data step by step. True when the pool existed. A pool
   * already marked with data left (a deletion interrupted, or under way elsewhere) is finished too, answering false.
   */
  deletePool(poolId: string): Promise<boolean>;
  /** Finishes every deletion an instance stopped half-way (called at open); settles when done or given up. */
  resumeInterrupted(): Promise<void>;
}

/**
 * Why each step is safe to run alone, to interrupt and to race (a write of an identity of the pool, on any instance):
 * - The mark (`deleted_pools`) commits with the deletion of the pool's row and settings, under the row's lock that
 *   createIdentity and updatePoolSyncSettings key-share: from then on nothing new is created under the pool, and a
 *   write whose apply statement runs after it writes nothing (write-statements.ts, applyPlans). The mark is kept
 *   for good, as before.
 * - A write whose apply ran before the mark holds its identity's lock row until it commits. An identity's last
 *   rows go in one transaction that first locks the identity the way writes do, so it waits for that write and
 *   then deletes what the write stored. Links, devices and merges take the same lock.
 * - Records and session markers, the bulk, go before that, by chunks, without locks: what a racing write adds is
 *   caught by the locked transaction.
 * `isClosing` stops the loop between steps (close() waits for the step in flight only).
 */
export function poolDeletion(db: Db, isClosing: () => boolean): PgPoolDeletion {
  const check = () => {
    if (isClosing()) throw new StoreClosedError();
  };

  async function purge(poolId: string): Promise<void> {
    for (;;) {
      check();
      const ids = (await db.read<{ identity_id: string }>(nextIdentities(poolId))).rows.map((r) => r.identity_id);
      if (ids.length === 0) break;
      for (const table of ['records', 'consumed_sessions'] as const) {
        while ((await db.batch([deleteChunk(table, ids)]))[0]!.rowCount > 0) check();
      }
      check();
      await db.transaction((tx) => tx.run([BEGIN, lockIdentities(ids, poolId), ...deleteIdentities(ids, poolId), COMMIT]));
    }
    // Logins whose identity row was gone already (none normally: each batch deletes its identities' logins).
    while ((await db.batch([deleteOwnerChunk(poolId)]))[0]!.rowCount > 0) check();
    // Lock rows naming this pool for identities of another (their next write makes them again, under their pool).
    await db.query({
      text: `DELETE FROM sync_locks s WHERE s.pool_id = $1
             AND EXISTS (SELECT 1 FROM identities i WHERE i.identity_id = s.identity_id AND i.pool_id <> $1)`,
      values: [poolId],
    });
  }

  return {
    async deletePool(poolId) {
      const [, , , , deleted, marked] = await db.transaction((tx) => tx.run([
        BEGIN,
        // The row's lock first: settings updates and identity creations holding it commit before the mark (and are
        // deleted below), those coming after find no pool.
        { text: 'SELECT 1 FROM identity_pools WHERE pool_id = $1 FOR UPDATE', values: [poolId] },
        {
          text: `INSERT INTO deleted_pools (pool_id, deleted_at)
                 SELECT $1, (extract(epoch FROM clock_timestamp()) * 1000)::bigint
                 WHERE EXISTS (SELECT 1 FROM identity_pools WHERE pool_id = $1) ON CONFLICT DO NOTHING`,
          values: [poolId],
        },
        { text: 'DELETE FROM pool_sync_settings WHERE pool_id = $1', values: [poolId] },
        { text: 'DELETE FROM identity_pools WHERE pool_id = $1', values: [poolId] },
        { text: 'SELECT 1 FROM deleted_pools WHERE pool_id = $1', values: [poolId] },
        COMMIT,
      ]));
      if (marked!.rows.length > 0) await purge(poolId);
      return deleted!.rowCount > 0;
    },
    async resumeInterrupted() {
      try {
        const { rows } = await db.read<{ pool_id: string }>(unfinished());
        for (const { pool_id: poolId } of rows) await purge(poolId);
      } catch {
        // Left for the next open, or the next deletion of the pool: the mark stays and the data stays invisible.
      }
    },
  };
}

/**
 * Marked pools with something left: deletions an instance stopped half-way (each test an index probe). Not a pool
 * that exists again under the ID (store-level callers may choose IDs; CreateIdentityPool's are random).
 */
const unfinished = (): Statement => ({
  text: `SELECT pool_id FROM deleted_pools p
         WHERE NOT EXISTS (SELECT 1 FROM identity_pools ip WHERE ip.pool_id = p.pool_id) AND (EXISTS (SELECT 1 FROM identities i WHERE i.pool_id = p.pool_id)
            OR EXISTS (SELECT 1 FROM datasets d WHERE d.pool_id = p.pool_id)
            OR EXISTS (SELECT 1 FROM sync_locks s WHERE s.pool_id = p.pool_id)
            OR EXISTS (SELECT 1 FROM login_owners o WHERE o.pool_id = p.pool_id))
         ORDER BY pool_id`,
});

/**
 * The next identities to delete: the pool's own, those that only wrote datasets under it, those with a lock row
 * under it and no identity row elsewhere. A lock row names the pool of the write that created it, which a refused
 * write may have named wrongly: an identity of another pool is never chosen by its lock row (the row itself goes,
 * see purge). Rows deleted by earlier batches are gone: each batch reads what is left.
 */
const nextIdentities = (poolId: string): Statement => ({
  text: `SELECT identity_id FROM (
           (SELECT identity_id FROM identities WHERE pool_id = $1 ORDER BY identity_id LIMIT $2)
           UNION (SELECT identity_id FROM datasets WHERE pool_id = $1 LIMIT $2)
           UNION (SELECT s.identity_id FROM sync_locks s WHERE s.pool_id = $1
                    AND NOT EXISTS (SELECT 1 FROM identities i WHERE i.identity_id = s.identity_id AND i.pool_id <> $1)
                    LIMIT $2)
         ) AS ids ORDER BY identity_id LIMIT $2`,
  values: [poolId, IDENTITY_CHUNK],
});

/** Up to ROW_CHUNK rows of the identities, found by the primary key's first column and deleted by their ctid. */
const deleteChunk = (table: 'records' | 'consumed_sessions', ids: readonly string[]): Statement => ({
  text: `DELETE FROM ${table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM ${table} WHERE identity_id = ANY($1) LIMIT $2))`,
  values: [ids, ROW_CHUNK],
});

const deleteOwnerChunk = (poolId: string): Statement => ({
  text: 'DELETE FROM login_owners WHERE ctid = ANY(ARRAY(SELECT ctid FROM login_owners WHERE pool_id = $1 LIMIT $2))',
  values: [poolId, ROW_CHUNK],
});

/**
 * Locks the identities' sync_locks rows as writes do (in identity order, creating missing ones, waiting for writes
 * in flight — even one inserting its lock row right now), so that what those writes store is deleted below.
 */
const lockIdentities = (ids: readonly string[], poolId: string): Statement => ({
  text: `INSERT INTO sync_locks (identity_id, pool_id) SELECT u.id, $2 FROM unnest($1::text[]) AS u(id) ORDER BY u.id
         ON CONFLICT (identity_id) DO UPDATE SET pool_id = excluded.pool_id WHERE false`,
  values: [ids, poolId],
});

/**
 * Everything left of the identities, their rows and lock rows last. Records, sessions, subscriptions and devices go
 * whatever pool they were written under (they belong to the identity); rows that name a pool, only this pool's.
 */
const deleteIdentities = (ids: readonly string[], poolId: string): Statement[] => [
  'DELETE FROM records WHERE identity_id = ANY($1)',
  'DELETE FROM consumed_sessions WHERE identity_id = ANY($1)',
  'DELETE FROM subscriptions WHERE identity_id = ANY($1)',
  'DELETE FROM devices WHERE identity_id = ANY($1)',
  `DELETE FROM login_owners o USING identity_logins l
   WHERE l.identity_id = ANY($1) AND l.pool_id = $2 AND o.pool_id = l.pool_id AND o.provider_name = l.provider_name
     AND o.subject = l.subject AND o.identity_id = l.identity_id`,
  'DELETE FROM identity_logins WHERE identity_id = ANY($1) AND pool_id = $2',
  'DELETE FROM datasets WHERE identity_id = ANY($1) AND pool_id = $2',
  'DELETE FROM identities WHERE identity_id = ANY($1) AND pool_id = $2',
  'DELETE FROM sync_locks WHERE identity_id = ANY($1)',
].map((text) => ({ text, values: text.includes('$2') ? [ids, poolId] : [ids] }));
