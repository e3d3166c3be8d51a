/**
 * DescribeIdentityPoolUsage and ListIdentityPoolUsage on SQLite: a pool's figures are summed chunk by chunk with the
 * event loop free between chunks (one aggregate over a pool of 195k datasets held every request 230–318 ms).
 */
import { setImmediate as turn } from 'node:timers/promises';
import type { Database } from './driver.js';
import type { PoolUsage } from '../types.js';
import { StoreClosedError } from '../closed.js';

/**
 * Datasets one statement sums: about 3 ms of work (the audit's 230–318 ms for 195k datasets is 1.2–1.6 µs a row;
 * finding the chunk's end in the index adds little), so requests wait at most that long behind a usage call.
 */
export const POOL_USAGE_CHUNK = 2000;

type Key = readonly [identityId: string, name: string];
type Sums = readonly [storage: number, sessions: number, modified: number | null];

/**
 * getPoolUsage: the usage of each pool, in the order given. Each chunk is the next `chunk` datasets of a pool in
 * primary-key order (keyset over `datasets_by_pool`, which carries the key of the WITHOUT ROWID table), summed by one
 * aggregate; the event loop turns between any two chunks, those of consecutive pools too (ListIdentityPoolUsage asks
 * for up to 60). A call still running when the store begins to close rejects with StoreClosedError at its next chunk:
 * the sums of part of a pool would be wrong figures.
 *
 * Exact for a pool nobody writes during the call. Each chunk is its own read, so a write made meanwhile may be counted
 * or not (a usage figure need not be a snapshot): every dataset row is counted at most once, at the values of one
 * moment, except that a dataset a racing merge moves to another key may be counted under both keys or neither.
 */
export function preparePoolUsage(
  db: Database, isClosing: () => boolean, chunk = POOL_USAGE_CHUNK,
): (poolIds: readonly string[]) => Promise<PoolUsage[]> {
  const s = prepareChunkStatements(db);
  return async (poolIds) => {
    const usages: PoolUsage[] = [];
    let turnDue = false;
    for (const poolId of poolIds) {
      let storage = 0;
      let sessions = 0;
      let modified: number | null = null;
      let after: Key | undefined = ['', ''];
      while (after !== undefined) {
        if (turnDue) {
          await turn();
          if (isClosing()) throw new StoreClosedError();
        }
        turnDue = true;
        const end: Key | undefined = s.chunkEnd.get(poolId, after[0], after[1], chunk - 1);
        const [st, se, mo]: Sums = end === undefined
          ? s.sumRest.get(poolId, after[0], after[1])!
          : s.sumChunk.get(poolId, after[0], after[1], end[0], end[1])!;
        storage += st;
        sessions += se;
        if (mo !== null && (modified === null || mo > modified)) modified = mo;
        after = end;
      }
      usages.push({
        identityPoolId: poolId, dataStorage: storage, syncSessionsCount: sessions, lastModifiedAt: modified,
      });
    }
    return usages;
  };
}

/**
 * The chunk statements (EXPLAIN QUERY PLAN: each a SEARCH of datasets_by_pool on pool_id and the key range; the
 * chunk's end reads the covering index alone, and nothing sorts). Keys start after ('', ''): IDs and names are never
 * empty. The end is the chunk's last key, none when fewer datasets are left: then the rest is the last chunk.
 */
function prepareChunkStatements(db: Database) {
  const SUMS = `SELECT COALESCE(SUM(data_storage) FILTER (WHERE deleted = 0), 0), COALESCE(SUM(sync_count), 0),
    MAX(last_modified_at) FROM datasets WHERE pool_id = ? AND (identity_id, name) > (?, ?)`;
  return {
    // `+?` and the CAST: statements.ts says why (SQLite would compile it again at each bind).
    chunkEnd: db.prepare<[string, string, string, number], Key>(
      `SELECT identity_id, name FROM datasets WHERE pool_id = +? AND (identity_id, name) > (+?, +?)
       ORDER BY identity_id, name LIMIT 1 OFFSET CAST(? AS INTEGER)`).raw(true),
    sumChunk: db.prepare<[string, string, string, string, string], Sums>(
      `${SUMS} AND (identity_id, name) <= (?, ?)`).raw(true),
    sumRest: db.prepare<[string, string, string], Sums>(SUMS).raw(true),
  };
}
