import type { TokenBucket } from '../store.js';
import type { Db, Statement } from './pool.js';
import { callBatcher, readBatcher } from './read-batcher.js';
import { IDENTITY, JOINED_IDENTITY, RECORD, utf8, type DatasetViewDb, type IdentityDb, type RecordDb } from './rows.js';

/**
 * For a query whose `identities` are aliased `i`: the identity's pool is not being deleted. A pool being deleted is
 * marked and loses its row in one transaction (pool-deletion.ts), while its identities' rows may outlive it for a
 * while (a big pool is purged in steps; an interrupted purge resumes at the next start): they read as gone from the
 * mark on. A pool created again under a marked ID has its row again, and its identities are read.
 */
const POOL_NOT_DELETED = `NOT EXISTS (SELECT 1 FROM deleted_pools p WHERE p.pool_id = i.pool_id
  AND NOT EXISTS (SELECT 1 FROM identity_pools ip WHERE ip.pool_id = p.pool_id))`;

/**
 * The adapter's hot reads and the throttle, each coalescing concurrent calls into one statement (read-batcher.ts):
 * the identity every sync operation reads first, ListRecords' dataset view and records page, and the token take.
 */
export function batchedCalls(db: Db) {
  const rows = async <R>(statement: Statement): Promise<R[]> => (await db.read(statement)).rows as R[];

  const identities = readBatcher(async (ids: readonly string[]) => new Map((await rows<IdentityDb>({
    name: 'cosync_get_identities',
    text: `SELECT ${IDENTITY} FROM identities i WHERE identity_id = ANY($1::text[]) AND ${POOL_NOT_DELETED}`,
    values: [ids],
  })).map((r) => [r.identity_id, r])));

  const datasetViews = callBatcher(async (keys: readonly { identityId: string; name: string }[]) => {
    const found = await rows<DatasetViewDb & { ord: number }>({
      name: 'cosync_dataset_views',
      text: `SELECT k.ord, ${JOINED_IDENTITY},
               d.identity_id, d.name, d.sync_count, d.deleted, d.last_deleted_at_sync_count, d.created_at,
               d.last_modified_at, d.last_modified_by, d.num_records, d.data_storage, d.merge_parent,
               ARRAY(SELECT m.name FROM datasets m WHERE m.identity_id = k.identity_id AND m.merge_parent = k.name
                     AND NOT m.deleted ORDER BY m.name) AS merged
             FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k(identity_id, name, ord)
             LEFT JOIN identities i ON i.identity_id = k.identity_id AND ${POOL_NOT_DELETED}
             LEFT JOIN datasets d ON d.identity_id = k.identity_id AND d.name = k.name`,
      values: [keys.map((k) => k.identityId), keys.map((k) => k.name)],
    });
    const byOrd = new Map(found.map((r) => [Number(r.ord), r]));
    return keys.map((_, i) => byOrd.get(i + 1)!);
  });

  interface PageQuery { identityId: string; name: string; from: number; upTo: number; after: { syncCount: number; key: string }; limit: number }
  const recordPages = callBatcher(async (pages: readonly PageQuery[]) => {
    const found = await rows<RecordDb & { ord: number }>({
      name: 'cosync_list_records_batch',
      text: `SELECT k.ord, r.* FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bytea[], $7::bigint[])
               WITH ORDINALITY AS k(identity_id, name, from_count, up_to, after_count, after_key, page_size, ord)
             CROSS JOIN LATERAL (
               SELECT ${RECORD} FROM records
               WHERE identity_id = k.identity_id AND dataset_name = k.name AND sync_count >= k.from_count
                 AND sync_count <= k.up_to AND (sync_count, key) > (k.after_count, k.after_key)
               ORDER BY sync_count, key LIMIT k.page_size
             ) AS r
             ORDER BY k.ord, r.sync_count, r.key`,
      values: [
        pages.map((p) => p.identityId), pages.map((p) => p.name), pages.map((p) => p.from), pages.map((p) => p.upTo),
        pages.map((p) => p.after.syncCount), pages.map((p) => utf8(p.after.key)), pages.map((p) => p.limit),
      ],
    });
    const byPage: RecordDb[][] = pages.map(() => []);
    for (const r of found) byPage[Number(r.ord) - 1]!.push(r);
    return byPage;
  });

  const takeTokens = callBatcher(async (requests: readonly (readonly TokenBucket[])[]) => {
    const entries = requests.flatMap((buckets, i) => buckets.map((b) => ({ owner: i + 1, ...b })));
    // A batch, so that a connection found dead is replaced and the take sent again, as reads are: every request of
    // the moment shares this call, reads included, and a take that did land before the connection died only costs
    // those callers one token more.
    const [result] = await db.batch([{
      name: 'cosync_take_tokens_batch',
      text: 'SELECT cosync_take_tokens_batch($1::int[], $2::text[], $3::float8[], $4::float8[]) AS empty',
      values: [entries.map((e) => e.owner), entries.map((e) => e.name), entries.map((e) => e.ratePerSecond), entries.map((e) => e.burst)],
    }]);
    const answer = result?.rows[0] as { empty: (string | null)[] } | undefined;
    return requests.map((_, i) => answer?.empty[i] ?? null);
  });

  return { identities, datasetViews, recordPages, takeTokens };
}
