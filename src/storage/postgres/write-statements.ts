import type { WriteCommand, WritePlan } from '../types.js';
import type { Statement } from './pool.js';
import { JOINED_IDENTITY, utf8 } from './rows.js';

/**
 * The three statements of a batch of writes (write-batcher.ts), whatever its size: lock every identity, read every
 * write state, apply every plan. A batch holds each identity once.
 */

/**
 * Locks the identities' sync_locks rows, creating them on first use, in identity order (as every multi-identity
 * lock of the adapter, so batches never deadlock). ON CONFLICT DO UPDATE … WHERE false locks an existing row
 * without writing a new version of it (PostgreSQL locks every conflicting row the DO UPDATE considers, whether
 * or not its WHERE lets it update).
 */
export function lockIdentities(commands: readonly WriteCommand[]): Statement {
  return {
    name: 'cosync_lock_identities',
    text: `INSERT INTO sync_locks (identity_id, pool_id)
           SELECT u.identity_id, u.pool_id FROM unnest($1::text[], $2::text[]) AS u(identity_id, pool_id)
           ORDER BY u.identity_id
           ON CONFLICT (identity_id) DO UPDATE SET pool_id = excluded.pool_id WHERE false`,
    values: [commands.map((c) => c.identityId), commands.map((c) => c.identityPoolId)],
  };
}

/**
 * One row per command, in order (`ord`, 1-based): the identity and dataset rows (nulls when absent), the live dataset count,
 * whether the session was consumed, and the current rows of the command's keys as parallel arrays. Sent after
 * lockIdentities, as its own statement, so it reads what was committed before the locks were granted.
 */
export function readWriteStates(commands: readonly WriteCommand[]): Statement {
  const keys = commands.flatMap((c, i) => c.keys.map((k) => ({ owner: i + 1, key: utf8(k) })));
  return {
    name: 'cosync_write_states',
    text: `SELECT c.ord, ${JOINED_IDENTITY}, d.identity_id, d.name, d.sync_count, d.deleted, d.last_deleted_at_sync_count, d.created_at,
             d.last_modified_at, d.last_modified_by, d.num_records, d.data_storage, d.merge_parent,
             (SELECT COUNT(*) FROM datasets WHERE identity_id = c.identity_id AND NOT deleted) AS live_count,
             EXISTS (SELECT 1 FROM consumed_sessions WHERE identity_id = c.identity_id AND session_id = c.session_id) AS consumed,
             r.rec_keys, r.rec_counts, r.rec_bytes, r.rec_live
           FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS c(identity_id, name, session_id, ord)
           LEFT JOIN identities i ON i.identity_id = c.identity_id
           LEFT JOIN datasets d ON d.identity_id = c.identity_id AND d.name = c.name
           CROSS JOIN LATERAL (
             SELECT array_agg(r.key) AS rec_keys, array_agg(r.sync_count) AS rec_counts,
               array_agg(CASE WHEN r.value IS NULL THEN 0 ELSE octet_length(r.key) + octet_length(r.value) END) AS rec_bytes,
               array_agg(r.value IS NOT NULL) AS rec_live
             FROM unnest($4::bytea[], $5::int[]) AS x(key, owner)
             JOIN records r ON r.identity_id = c.identity_id AND r.dataset_name = c.name
               AND r.key_hash = sha256(x.key) AND r.key = x.key
             WHERE x.owner = c.ord
           ) AS r
           ORDER BY c.ord`,
    values: [
      commands.map((c) => c.identityId), commands.map((c) => c.datasetName), commands.map((c) => c.sessionId),
      keys.map((k) => k.key), keys.map((k) => k.owner),
    ],
  };
}

/**
 * A command of the batch with what became of its plan: applied (with the plan) or refused (the plan threw), and
 * whether its write state found the identity's row.
 */
export type Settled = { readonly command: WriteCommand; readonly plan: WritePlan | undefined; readonly identityFound: boolean };

/**
 * Stores the batch's plans in ONE statement (a data-modifying CTE over parallel arrays): dataset rows, records and
 * consumed-session markers of the applied commands. For a command whose pool was deleted since the operation
 * checked its identity (deleted_pools), nothing is written and the lock row it created is dropped, applied or not.
 * So is the lock row of an identity that has no row (a write refused as not found), so none is left behind.
 */
export function applyPlans(settled: readonly Settled[]): Statement {
  const applied = settled.flatMap((s, i) => (s.plan ? [{ ...s, plan: s.plan, ord: i + 1 }] : []));
  const datasets = applied.flatMap((a) => {
    const d = a.plan.dataset;
    if (d && (d.identityId !== a.command.identityId || d.datasetName !== a.command.datasetName)) {
      throw new Error(`write plan for ${d.identityId}/${d.datasetName} does not match ${a.command.identityId}/${a.command.datasetName}`);
    }
    return d ? [{ ord: a.ord, pool: a.command.identityPoolId, d }] : [];
  });
  const records = applied.flatMap((a) => (a.plan.dataset ? a.plan.records.map((r) => ({ a, r })) : []));
  return {
    name: 'cosync_apply_plans',
    text: `WITH cmd AS (
             SELECT c.*, EXISTS (SELECT 1 FROM deleted_pools p WHERE p.pool_id = c.pool_id) AS gone
             FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::boolean[], $25::boolean[])
               WITH ORDINALITY AS c(identity_id, pool_id, session_id, expires_at, applied, identity_found, ord)
           ), ds AS (
             INSERT INTO datasets (identity_id, name, pool_id, sync_count, deleted, last_deleted_at_sync_count,
               created_at, last_modified_at, last_modified_by, num_records, data_storage, merge_parent)
             SELECT cmd.identity_id, d.name, cmd.pool_id, d.sync_count, d.deleted, d.last_deleted_at_sync_count,
               d.created_at, d.last_modified_at, d.last_modified_by, d.num_records, d.data_storage, d.merge_parent
             FROM unnest($6::int[], $7::text[], $8::bigint[], $9::boolean[], $10::bigint[], $11::bigint[], $12::bigint[],
               $13::text[], $14::bigint[], $15::bigint[], $16::text[])
               AS d(owner, name, sync_count, deleted, last_deleted_at_sync_count, created_at, last_modified_at,
                 last_modified_by, num_records, data_storage, merge_parent)
             JOIN cmd ON cmd.ord = d.owner AND NOT cmd.gone
             ON CONFLICT (identity_id, name) DO UPDATE SET sync_count = excluded.sync_count,
               deleted = excluded.deleted, last_deleted_at_sync_count = excluded.last_deleted_at_sync_count,
               created_at = excluded.created_at, last_modified_at = excluded.last_modified_at,
               last_modified_by = excluded.last_modified_by, num_records = excluded.num_records,
               data_storage = excluded.data_storage, merge_parent = excluded.merge_parent
           ), recs AS (
             INSERT INTO records (identity_id, dataset_name, key, value, sync_count, last_modified_at,
               last_modified_by, device_last_modified_at)
             SELECT cmd.identity_id, r.dataset_name, r.key, r.value, r.sync_count, r.last_modified_at, r.last_modified_by,
               r.device_last_modified_at
             FROM unnest($17::int[], $18::text[], $19::bytea[], $20::bytea[], $21::bigint[], $22::bigint[], $23::text[], $24::bigint[])
               AS r(owner, dataset_name, key, value, sync_count, last_modified_at, last_modified_by, device_last_modified_at)
             JOIN cmd ON cmd.ord = r.owner AND NOT cmd.gone
             ON CONFLICT (identity_id, dataset_name, key_hash) DO UPDATE SET value = excluded.value,
               sync_count = excluded.sync_count, last_modified_at = excluded.last_modified_at,
               last_modified_by = excluded.last_modified_by, device_last_modified_at = excluded.device_last_modified_at
           ), unlocked AS (
             DELETE FROM sync_locks s USING cmd WHERE s.identity_id = cmd.identity_id AND (cmd.gone OR NOT cmd.identity_found)
           )
           INSERT INTO consumed_sessions (identity_id, session_id, expires_at)
           SELECT identity_id, session_id, expires_at FROM cmd WHERE applied AND NOT gone
           ON CONFLICT DO NOTHING`,
    values: [
      settled.map((s) => s.command.identityId), settled.map((s) => s.command.identityPoolId),
      settled.map((s) => s.command.sessionId), settled.map((s) => s.command.sessionExpiresAt), settled.map((s) => s.plan !== undefined),
      datasets.map((x) => x.ord), datasets.map((x) => x.d.datasetName), datasets.map((x) => x.d.syncCount),
      datasets.map((x) => x.d.deleted), datasets.map((x) => x.d.lastDeletedAtSyncCount), datasets.map((x) => x.d.createdAt),
      datasets.map((x) => x.d.lastModifiedAt), datasets.map((x) => x.d.lastModifiedBy), datasets.map((x) => x.d.numRecords),
      datasets.map((x) => x.d.dataStorage), datasets.map((x) => x.d.mergeParent),
      records.map((x) => x.a.ord), records.map((x) => x.a.command.datasetName), records.map((x) => utf8(x.r.key)),
      records.map((x) => (x.r.value === null ? null : utf8(x.r.value))), records.map((x) => x.r.syncCount),
      records.map((x) => x.r.lastModifiedAt), records.map((x) => x.r.lastModifiedBy), records.map((x) => x.r.deviceLastModifiedAt),
      settled.map((s) => s.identityFound),
    ],
  };
}
