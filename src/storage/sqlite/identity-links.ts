import type { Database } from './driver.js';
import type { SyncStore } from '../store.js';
import type { Login, LoginName, MergeOutcome } from '../types.js';

/**
 * The SQLite side of identity lifecycle and logins (Cognito Identity): deleteIdentity, the login
 * methods and mergeIdentities, plus the pool-level clean-up deleteIdentityPool needs. Kept apart from
 * sqlite-store.ts, which wires these methods into the store object.
 */
export type IdentityLinkMethods = Pick<
  SyncStore,
  'deleteIdentity' | 'linkLogin' | 'findLogin' | 'listLogins' | 'listLoginsOf' | 'unlinkLogins' | 'mergeIdentities'
>;

export interface IdentityLinks {
  readonly methods: IdentityLinkMethods;
}

/**
 * Prepares the statements and returns the methods. `beforeWrite` runs before deleteIdentity and mergeIdentities
 * open their transaction: the store passes its group-commit flush, so that writeRecords commands queued before
 * the call are applied before it (rather than after, where they would re-create rows under the identity just
 * deleted or merged away).
 */
export function prepareIdentityLinks(db: Database, beforeWrite: () => void = () => {}): IdentityLinks {
  const s = prepareStatements(db);

  const linkLogin = db.transaction((l: Login): Login | undefined => {
    // An identity deleted or merged away (disabled) since the caller read it gets no login: it would be left pointing
    // at nothing, or at an identity its user can no longer use.
    if (s.getIdentity.get(l.identityId)?.disabled === 0 &&
      s.insertLogin.run(l.identityPoolId, l.providerName, l.subject, l.identityId, l.linkedAt).changes > 0) {
      s.touchIdentity.run(l.linkedAt, l.identityId);
    }
    const stored = s.findLogin.get(l.identityPoolId, l.providerName, l.subject);
    return stored && toLogin(stored);
  });

  const unlinkLogins = db.transaction((identityId: string, logins: readonly LoginName[], now: number) => {
    if (!s.getIdentity.get(identityId)) return undefined;
    let removed = 0;
    for (const l of logins) removed += s.unlinkLogin.run(identityId, l.providerName, l.subject).changes;
    if (removed > 0) {
      if (s.hasLogin.get(identityId)) s.touchIdentity.run(now, identityId);
      else s.disableIdentity.run(now, identityId);
    }
    return removed;
  });

  const deleteIdentity = db.transaction((identityId: string): boolean => {
    for (const stmt of s.deleteIdentityData) stmt.run({ identity: identityId });
    return s.deleteIdentity.run(identityId).changes > 0;
  });

  const merge = db.transaction((args: Parameters<IdentityLinkMethods['mergeIdentities']>[0]): MergeOutcome | undefined => {
    const { survivorId, mergedId, now, datasetName } = args;
    if (survivorId === mergedId) throw new Error(`cannot merge identity ${mergedId} into itself`);
    const survivor = s.getIdentity.get(survivorId);
    const merged = s.getIdentity.get(mergedId);
    // Deleted, or merged away (disabled), by a call that won the race.
    if (!survivor || !merged || survivor.disabled || merged.disabled) return undefined;
    if (survivor.pool_id !== merged.pool_id) {
      throw new Error(`cannot merge identity ${mergedId} of pool ${merged.pool_id} into ${survivorId} of pool ${survivor.pool_id}`);
    }

    const movedLogins = s.moveLogins.run(survivorId, mergedId).changes;
    s.touchIdentity.run(now, survivorId);
    s.disableIdentity.run(now, mergedId);

    const moved = new Set<string>();
    // Every name of the survivor, deleted ones included: none is replaced (store.ts).
    const taken = new Set(s.datasetNames.all(survivorId).map((r) => r.name));
    for (const d of s.liveDatasets.all(mergedId)) {
      const target = datasetName(d.name, taken);
      taken.add(target);
      const size = s.liveSize.get(mergedId, d.name)!;
      s.insertMergedDataset.run({
        identity: survivorId, name: target, pool: survivor.pool_id, createdAt: d.created_at, now,
        lastModifiedBy: d.last_modified_by, numRecords: size.n, dataStorage: size.bytes, mergeParent: d.name,
      });
      s.copyLiveRecords.run({ identity: survivorId, name: target, fromIdentity: mergedId, fromName: d.name });
      moved.add(target);
    }
    // Everything sync-related of the merged identity goes: moved and deleted dataset rows, records, devices.
    for (const stmt of s.deleteSyncData) stmt.run({ identity: mergedId });
    return { movedDatasets: [...moved], movedLogins };
  });

  return {
    methods: {
      async deleteIdentity(identityId) {
        beforeWrite();
        return deleteIdentity.immediate(identityId);
      },
      linkLogin: async (login) => linkLogin.immediate(login),
      async findLogin(poolId, providerName, subject) {
        const row = s.findLogin.get(poolId, providerName, subject);
        return row && toLogin(row);
      },
      listLogins: async (identityId) => s.listLogins.all(identityId).map(toLogin),
      async listLoginsOf(identityIds) {
        const logins = new Map(identityIds.map((id) => [id, [] as Login[]]));
        if (logins.size === 0) return logins;
        for (const row of s.listLoginsOf.all(JSON.stringify([...logins.keys()]))) logins.get(row.identity_id)?.push(toLogin(row));
        return logins;
      },
      unlinkLogins: async (identityId, logins, now) => unlinkLogins.immediate(identityId, logins, now),
      async mergeIdentities(args) {
        beforeWrite();
        return merge.immediate(args);
      },
    },
  };
}

interface LoginDb { pool_id: string; provider_name: string; subject: string; identity_id: string; linked_at: number }
interface IdentityDb { id: string; pool_id: string; disabled: number }
interface DatasetDb { name: string; created_at: number; last_modified_by: string }

const toLogin = (r: LoginDb): Login => ({
  identityPoolId: r.pool_id, providerName: r.provider_name, subject: r.subject, identityId: r.identity_id,
  linkedAt: r.linked_at,
});

/** Everything Cognito Sync keeps for one identity (a subscription always names a device of its own identity). */
const SYNC_DATA = [
  'DELETE FROM records WHERE identity_id = @identity',
  'DELETE FROM subscriptions WHERE identity_id = @identity',
  'DELETE FROM devices WHERE identity_id = @identity',
  'DELETE FROM datasets WHERE identity_id = @identity',
];

/** Written as statements.ts's are: `= +?` where an ORDER BY follows (its comment says why). */
function prepareStatements(db: Database) {
  const q = <P extends unknown[] | {} = unknown[], R = unknown>(sql: string) => db.prepare<P, R>(sql);
  const LOGIN = 'pool_id, provider_name, subject, identity_id, linked_at';
  return {
    insertLogin: q<[string, string, string, string, number]>(
      `INSERT INTO identity_logins (${LOGIN}) VALUES (?, ?, ?, ?, ?) ON CONFLICT (pool_id, provider_name, subject) DO NOTHING`),
    findLogin: q<[string, string, string], LoginDb>(
      `SELECT ${LOGIN} FROM identity_logins WHERE pool_id = ? AND provider_name = ? AND subject = ?`),
    listLogins: q<[string], LoginDb>(
      `SELECT ${LOGIN} FROM identity_logins WHERE identity_id = +? ORDER BY provider_name, subject`),
    // Ordered as listLogins orders one identity's, identity by identity.
    listLoginsOf: q<[string], LoginDb>(
      `SELECT ${LOGIN} FROM identity_logins WHERE identity_id IN (SELECT value FROM json_each(?))
       ORDER BY identity_id, provider_name, subject`),
    unlinkLogin: q<[string, string, string]>(
      'DELETE FROM identity_logins WHERE identity_id = ? AND provider_name = ? AND subject = ?'),
    hasLogin: q<[string]>('SELECT 1 FROM identity_logins WHERE identity_id = ? LIMIT 1'),
    moveLogins: q<[string, string]>('UPDATE identity_logins SET identity_id = ? WHERE identity_id = ?'),

    getIdentity: q<[string], IdentityDb>('SELECT id, pool_id, disabled FROM identities WHERE id = ?'),
    touchIdentity: q<[number, string]>('UPDATE identities SET last_modified_at = ? WHERE id = ?'),
    disableIdentity: q<[number, string]>('UPDATE identities SET last_modified_at = ?, disabled = 1 WHERE id = ?'),
    deleteIdentity: q<[string]>('DELETE FROM identities WHERE id = ?'),
    deleteIdentityData: [
      'DELETE FROM identity_logins WHERE identity_id = @identity',
      ...SYNC_DATA,
    ].map((sql) => q<{ identity: string }>(sql)),

    liveDatasets: q<[string], DatasetDb>(
      'SELECT name, created_at, last_modified_by FROM datasets WHERE identity_id = +? AND deleted = 0 ORDER BY name'),
    // UTF-8 bytes of key + value of live records, as writeRecords plans count them.
    liveSize: q<[string, string], { n: number; bytes: number }>(
      `SELECT COUNT(*) AS n, COALESCE(SUM(length(CAST(key AS BLOB)) + length(CAST(value AS BLOB))), 0) AS bytes
       FROM records WHERE identity_id = ? AND dataset_name = ? AND value IS NOT NULL`),
    datasetNames: q<[string], { name: string }>('SELECT name FROM datasets WHERE identity_id = ?'),
    insertMergedDataset: q<{
      identity: string; name: string; pool: string; createdAt: number; now: number; lastModifiedBy: string;
      numRecords: number; dataStorage: number; mergeParent: string;
    }>(
      `INSERT INTO datasets (identity_id, name, pool_id, sync_count, deleted, last_deleted_at_sync_count, created_at,
         last_modified_at, last_modified_by, num_records, data_storage, merge_parent)
       VALUES (@identity, @name, @pool, 1, 0, NULL, @createdAt, @now, @lastModifiedBy, @numRecords, @dataStorage, @mergeParent)`),
    copyLiveRecords: q<{ identity: string; name: string; fromIdentity: string; fromName: string }>(
      `INSERT INTO records (identity_id, dataset_name, key, value, sync_count, last_modified_at, last_modified_by,
         device_last_modified_at)
       SELECT @identity, @name, key, value, 1, last_modified_at, last_modified_by, device_last_modified_at
       FROM records WHERE identity_id = @fromIdentity AND dataset_name = @fromName AND value IS NOT NULL`),
    deleteSyncData: SYNC_DATA.map((sql) => q<{ identity: string }>(sql)),
  };
}
