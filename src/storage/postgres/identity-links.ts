import type { SyncStore } from '../store.js';
import type { Login, MergeOutcome } from '../types.js';
import { BEGIN, COMMIT, type Db, type Statement } from './pool.js';
import { hasNul } from './rows.js';

/**
 * The PostgreSQL side of identity lifecycle and logins (Cognito Identity): deleteIdentity, the login methods and
 * mergeIdentities. Logins live in two tables changed together (migrations.ts says why):
 * login_owners by login, identity_logins by identity.
 */
export type IdentityLinkMethods = Pick<
  SyncStore,
  'deleteIdentity' | 'linkLogin' | 'findLogin' | 'listLogins' | 'listLoginsOf' | 'unlinkLogins' | 'mergeIdentities'
>;

const LOGIN = 'pool_id, provider_name, subject, identity_id, linked_at';

export function identityLinkMethods(db: Db): IdentityLinkMethods {
  return {
    deleteIdentity: (identityId) => db.transaction(async (tx) => {
      const deleteIdentityRow = { text: 'DELETE FROM identities WHERE identity_id = $1', values: [identityId] };
      const results = await tx.run([
        BEGIN,
        // The identity's lock row, created when it never wrote: a write in progress (its own lock row included)
        // commits first and its data is deleted below; a write starting now waits, then finds no identity.
        lockKnownIdentity(identityId),
        ...deleteLogins(identityId),
        ...deleteSyncData(identityId),
        deleteIdentityRow,
        // Its lock row too, or every deleted identity would leave one.
        { text: 'DELETE FROM sync_locks WHERE identity_id = $1', values: [identityId] },
        COMMIT,
      ]);
      return (results[results.length - 3]?.rowCount ?? 0) > 0;
    }),

    linkLogin: (l) => db.transaction(async (tx) => {
      // Claim the login if nobody owns it (waiting for a concurrent claim to settle); record it under the identity
      // only if the claim is this identity's; read who owns it now (a fresh snapshot, after any wait).
      // Under the identity's lock (as deleteIdentity and mergeIdentities take it), and only for an identity that exists
      // and is enabled: a link racing the identity's deletion or merge either commits first (and is deleted or moved
      // with the rest) or finds no identity to link to.
      const results = await tx.run([
        BEGIN,
        lockKnownIdentity(l.identityId),
        {
          text: `INSERT INTO login_owners (${LOGIN}) SELECT $1, $2, $3, $4, $5
                 WHERE EXISTS (SELECT 1 FROM identities WHERE identity_id = $4 AND NOT disabled)
                 ON CONFLICT (pool_id, provider_name, subject) DO NOTHING`,
          values: [l.identityPoolId, l.providerName, l.subject, l.identityId, l.linkedAt],
        },
        {
          // The login is the identity's: recorded under it and, when new there, the identity touched.
          text: `WITH added AS (
                   INSERT INTO identity_logins (${LOGIN})
                   SELECT ${LOGIN} FROM login_owners
                   WHERE pool_id = $1 AND provider_name = $2 AND subject = $3 AND identity_id = $4
                   ON CONFLICT DO NOTHING RETURNING identity_id, linked_at
                 )
                 UPDATE identities i SET last_modified_at = a.linked_at FROM added a WHERE i.identity_id = a.identity_id`,
          values: [l.identityPoolId, l.providerName, l.subject, l.identityId],
        },
        findLogin(l.identityPoolId, l.providerName, l.subject),
        dropLockOfDeleted(l.identityId),
        COMMIT,
      ]);
      const stored = results[4]!.rows[0] as LoginDb | undefined;
      return stored && toLogin(stored);
    }),

    async findLogin(poolId, providerName, subject) {
      if (hasNul(providerName) || hasNul(subject)) return undefined;
      const row = (await db.read(findLogin(poolId, providerName, subject))).rows[0] as LoginDb | undefined;
      return row && toLogin(row);
    },

    listLogins: async (identityId) => (await db.read({
      name: 'cosync_list_logins',
      text: `SELECT ${LOGIN} FROM identity_logins WHERE identity_id = $1 ORDER BY provider_name, subject`,
      values: [identityId],
    })).rows.map((r) => toLogin(r as LoginDb)),

    async listLoginsOf(identityIds) {
      const logins = new Map(identityIds.map((id) => [id, [] as Login[]]));
      if (logins.size === 0) return logins;
      const { rows } = await db.read<LoginDb>({
        // Ordered as listLogins orders one identity's, identity by identity.
        name: 'cosync_list_logins_of',
        text: `SELECT ${LOGIN} FROM identity_logins WHERE identity_id = ANY($1::text[])
               ORDER BY identity_id, provider_name, subject`,
        values: [[...logins.keys()]],
      });
      for (const row of rows) logins.get(row.identity_id)?.push(toLogin(row));
      return logins;
    },

    unlinkLogins: (identityId, requested, now) => db.transaction(async (tx) => {
      // A login holding U+0000 cannot have been linked (hasNul): there is nothing of it to remove.
      const logins = requested.filter((l) => !hasNul(l.providerName) && !hasNul(l.subject));
      // Under the identity's lock, as linkLogin and mergeIdentities take it: the logins left, and so whether the
      // identity is disabled, are those this statement sees, with no link or merge landing in between.
      const results = await tx.run([
        BEGIN,
        lockKnownIdentity(identityId),
        {
          // The statement's parts share one snapshot taken before any of its changes: the logins left are those
          // counted minus those removed.
          text: `WITH gone AS (
                   DELETE FROM identity_logins l USING unnest($2::text[], $3::text[]) AS x(provider_name, subject)
                   WHERE l.identity_id = $1 AND l.provider_name = x.provider_name AND l.subject = x.subject
                   RETURNING l.pool_id, l.provider_name, l.subject
                 ), owners AS (
                   DELETE FROM login_owners o USING gone g
                   WHERE o.pool_id = g.pool_id AND o.provider_name = g.provider_name AND o.subject = g.subject
                     AND o.identity_id = $1
                 ), changed AS (
                   UPDATE identities SET last_modified_at = $4, disabled = disabled
                     OR (SELECT COUNT(*) FROM identity_logins WHERE identity_id = $1) = (SELECT COUNT(*) FROM gone)
                   WHERE identity_id = $1 AND EXISTS (SELECT 1 FROM gone)
                 )
                 SELECT (SELECT COUNT(*) FROM gone)::int AS removed,
                   EXISTS (SELECT 1 FROM identities WHERE identity_id = $1) AS known`,
          values: [identityId, logins.map((l) => l.providerName), logins.map((l) => l.subject), now],
        },
        dropLockOfDeleted(identityId),
        COMMIT,
      ]);
      const { removed, known } = results[2]!.rows[0] as { removed: number; known: boolean };
      return known ? removed : undefined;
    }),

    mergeIdentities: (args) => db.transaction(async (tx): Promise<MergeOutcome | undefined> => {
      const { survivorId, mergedId, now, datasetName } = args;
      if (survivorId === mergedId) throw new Error(`cannot merge identity ${mergedId} into itself`);
      // Lock both identities (in a fixed order, so two merges of the same pair cannot deadlock), then read.
      const [first, second] = [survivorId, mergedId].sort();
      const read = await tx.run([
        BEGIN,
        lockKnownIdentity(first!),
        lockKnownIdentity(second!),
        {
          text: 'SELECT identity_id, pool_id FROM identities WHERE identity_id = ANY($1::text[]) AND NOT disabled',
          values: [[survivorId, mergedId]],
        },
        {
          // The merged identity's live datasets with the size of their live records, as plans count them.
          text: `SELECT d.name, d.created_at, d.last_modified_by, COUNT(r.key) AS n,
                   COALESCE(SUM(octet_length(r.key) + octet_length(r.value)), 0)::bigint AS bytes
                 FROM datasets d
                 LEFT JOIN records r ON r.identity_id = d.identity_id AND r.dataset_name = d.name AND r.value IS NOT NULL
                 WHERE d.identity_id = $1 AND NOT d.deleted
                 GROUP BY d.name, d.created_at, d.last_modified_by ORDER BY d.name`,
          values: [mergedId],
        },
        // Every name of the survivor, deleted ones included: none is replaced (store.ts).
        { text: 'SELECT name FROM datasets WHERE identity_id = $1', values: [survivorId] },
      ]);
      const identities = new Map((read[3]!.rows as { identity_id: string; pool_id: string }[]).map((r) => [r.identity_id, r.pool_id]));
      const survivorPool = identities.get(survivorId);
      const mergedPool = identities.get(mergedId);
      // Deleted, or merged away (disabled), by a call that won the race.
      if (survivorPool === undefined || mergedPool === undefined) {
        await tx.run([dropLockOfDeleted(first!), dropLockOfDeleted(second!), COMMIT]);
        return undefined;
      }
      if (survivorPool !== mergedPool) {
        throw new Error(`cannot merge identity ${mergedId} of pool ${mergedPool} into ${survivorId} of pool ${survivorPool}`);
      }

      const moves: Statement[] = [];
      const moved = new Set<string>();
      const taken = new Set((read[5]!.rows as { name: string }[]).map((r) => r.name));
      for (const d of read[4]!.rows as { name: string; created_at: number; last_modified_by: string; n: number; bytes: number }[]) {
        const target = datasetName(d.name, taken);
        taken.add(target);
        moves.push(
          {
            text: `INSERT INTO datasets (identity_id, name, pool_id, sync_count, deleted, last_deleted_at_sync_count,
                     created_at, last_modified_at, last_modified_by, num_records, data_storage, merge_parent)
                   VALUES ($1, $2, $3, 1, false, NULL, $4, $5, $6, $7, $8, $9)`,
            values: [survivorId, target, survivorPool, d.created_at, now, d.last_modified_by, d.n, d.bytes, d.name],
          },
          {
            text: `INSERT INTO records (identity_id, dataset_name, key, value, sync_count, last_modified_at,
                     last_modified_by, device_last_modified_at)
                   SELECT $1, $2, key, value, 1, last_modified_at, last_modified_by, device_last_modified_at
                   FROM records WHERE identity_id = $3 AND dataset_name = $4 AND value IS NOT NULL`,
            values: [survivorId, target, mergedId, d.name],
          },
        );
        moved.add(target);
      }
      const results = await tx.run([
        ...moves,
        // Logins: the owner table first (it finds the merged identity's logins through identity_logins), then
        // identity_logins itself.
        {
          text: `UPDATE login_owners o SET identity_id = $1 FROM identity_logins l
                 WHERE l.identity_id = $2 AND o.pool_id = l.pool_id AND o.provider_name = l.provider_name
                   AND o.subject = l.subject AND o.identity_id = $2`,
          values: [survivorId, mergedId],
        },
        {
          text: `WITH gone AS (DELETE FROM identity_logins WHERE identity_id = $2 RETURNING ${LOGIN})
                 INSERT INTO identity_logins (${LOGIN}) SELECT pool_id, provider_name, subject, $1, linked_at FROM gone`,
          values: [survivorId, mergedId],
        },
        { text: 'UPDATE identities SET last_modified_at = $2 WHERE identity_id = $1', values: [survivorId, now] },
        { text: 'UPDATE identities SET last_modified_at = $2, disabled = true WHERE identity_id = $1', values: [mergedId, now] },
        // Everything sync-related of the merged identity goes: moved and deleted dataset rows, records, devices.
        ...deleteSyncData(mergedId),
        COMMIT,
      ]);
      return { movedDatasets: [...moved], movedLogins: results[moves.length + 1]!.rowCount };
    }),
  };
}

interface LoginDb { pool_id: string; provider_name: string; subject: string; identity_id: string; linked_at: number }

const toLogin = (r: LoginDb): Login => ({
  identityPoolId: r.pool_id, providerName: r.provider_name, subject: r.subject, identityId: r.identity_id,
  linkedAt: r.linked_at,
});

const findLogin = (poolId: string, providerName: string, subject: string): Statement => ({
  name: 'cosync_find_login',
  text: `SELECT ${LOGIN} FROM login_owners WHERE pool_id = $1 AND provider_name = $2 AND subject = $3`,
  values: [poolId, providerName, subject],
});

/**
 * Drops the identity's lock row when the identity is gone: lockKnownIdentity, waiting for a deletion that held the
 * row, inserts a new one once the deletion commits (its snapshot still showed the identity). Sent before COMMIT.
 */
export const dropLockOfDeleted = (identityId: string): Statement => ({
  text: 'DELETE FROM sync_locks WHERE identity_id = $1 AND NOT EXISTS (SELECT 1 FROM identities WHERE identity_id = $1)',
  values: [identityId],
});

/** Locks an identity's sync_locks row, creating it (under the identity's pool) if the identity exists. */
export const lockKnownIdentity = (identityId: string): Statement => ({
  text: `INSERT INTO sync_locks (identity_id, pool_id) SELECT identity_id, pool_id FROM identities WHERE identity_id = $1
         ON CONFLICT (identity_id) DO UPDATE SET pool_id = excluded.pool_id WHERE false`,
  values: [identityId],
});

/** Every login of an identity, from both tables. */
const deleteLogins = (identityId: string): Statement[] => [
  {
    text: `DELETE FROM login_owners o USING identity_logins l
           WHERE l.identity_id = $1 AND o.pool_id = l.pool_id AND o.provider_name = l.provider_name
             AND o.subject = l.subject AND o.identity_id = $1`,
    values: [identityId],
  },
  { text: 'DELETE FROM identity_logins WHERE identity_id = $1', values: [identityId] },
];

/** Everything Cognito Sync keeps for one identity (a subscription always names a device of its own identity). */
const deleteSyncData = (identityId: string): Statement[] => [
  'DELETE FROM records WHERE identity_id = $1',
  // Sessions of an identity that is gone or merged away can never be used again.
  'DELETE FROM consumed_sessions WHERE identity_id = $1',
  'DELETE FROM subscriptions WHERE identity_id = $1',
  'DELETE FROM devices WHERE identity_id = $1',
  'DELETE FROM datasets WHERE identity_id = $1',
].map((text) => ({ text, values: [identityId] }));
