import type {
  DatasetRow, DatasetView, DatasetWriteState, Device, Identity, IdentityPool, IdentityUsage, Login, LoginName, MergeOutcome, Page,
  PoolSyncSettings, PoolUsage, RecordRow, WriteCommand, WritePlan, ConsumedSessionKey,
} from './types.js';

/**
 * The one storage interface every engine implements (SQLite now, PostgreSQL next). Methods are shaped by the
 * operations that use them, so each adapter can use its native atomicity. Every adapter must pass the shared
 * conformance suite in test/storage/conformance.ts.
 *
 * Contracts common to all methods:
 * - Methods never throw ServiceErrors of their own, except where a `plan`/`update` callback throws one: the
 *   adapter then rolls the unit back and rethrows that error unchanged.
 * - Callbacks (`plan`, `update`) are pure and synchronous; they may be called more than once if the adapter
 *   retries a transaction, and must not have side effects.
 * - Returned rows are fresh objects the caller may keep.
 */
export interface SyncStore {
  readonly engine: 'sqlite' | 'postgres';

  /** Returns the named server secret, creating it with `generate()` on first use. Shared by all instances. */
  getOrCreateSecret(name: string, generate: () => string): Promise<string>;

  // --- identity pools -----------------------------------------------------------------------------------
  /**
   * Stores a new pool; false, with nothing stored, when the store already holds `maxPools` pools or more. Counting
   * and inserting are one atomic unit, so pools created at the same moment cannot pass the limit together.
   */
  createIdentityPool(pool: IdentityPool, maxPools?: number): Promise<boolean>;
  getIdentityPool(identityPoolId: string): Promise<IdentityPool | undefined>;
  /** Pools ordered by ID; `after` is the last ID of the previous page. */
  listIdentityPools(page: Page<string>): Promise<IdentityPool[]>;
  /**
   * Atomic read-modify-write of the pool: `change` receives the stored pool and returns the new one (or throws to
   * abort). Concurrent changes are serialised, so none is lost (two TagResource calls keep both tags). Undefined,
   * with nothing written, when the pool does not exist.
   */
  modifyIdentityPool(identityPoolId: string, change: (current: IdentityPool) => IdentityPool): Promise<IdentityPool | undefined>;
  /**
   * Deletes the pool with its identities, datasets, records, devices, logins and settings; false when absent. In
   * steps, so that a pool of any size is deleted while other calls are served (no step holds SQLite's event loop or
   * nears PostgreSQL's statement timeout), with these guarantees:
   * - A first short unit marks the pool deleted and removes its row and settings. From then on the pool is absent for
   *   every pool-level call (getIdentityPool, listIdentityPools, modifyIdentityPool, updatePoolSyncSettings,
   *   createIdentity with poolMustExist), and writeRecords of an identity of the pool stores nothing (SQLite: the plan
   *   finds no identity; PostgreSQL: what the plan returns is not stored).
   * - Its identities then go batch by batch. Until its batch, an identity can still be read, and what a link,
   *   device, subscription or merge adds to it meanwhile is deleted with it.
   * - When the promise resolves, nothing of the pool is left.
   * A deletion stopped half-way (close(), a crash) leaves the pool marked, so still absent; the store finishes it in
   * the background when it is next opened, or when this method is called again for the pool (answering false, since
   * the pool was already gone for callers). Pool IDs are random and never reissued.
   */
  deleteIdentityPool(identityPoolId: string): Promise<boolean>;

  // --- identities ---------------------------------------------------------------------------------------
  /**
   * Creates the identity; with `poolMustExist`, only in a pool that exists, serialised with the pool's deletion, and
   * false (nothing stored) when it does not: an identity created while its pool is deleted would outlive it.
   */
  createIdentity(identity: Identity, options?: { poolMustExist?: boolean }): Promise<boolean>;
  getIdentity(identityId: string): Promise<Identity | undefined>;
  /** Identities of one pool ordered by ID; `after` is the last ID of the previous page. */
  listIdentities(identityPoolId: string, page: Page<string>): Promise<Identity[]>;

  /**
   * Deletes an identity with its logins, datasets, records, devices and subscriptions; false when absent.
   * Its ID is never reissued (IDs are random UUIDs).
   */
  deleteIdentity(identityId: string): Promise<boolean>;

  // --- logins (Cognito Identity) -------------------------------------------------------------------------
  /**
   * Links a login to an identity and sets the identity's lastModifiedAt to the login's linkedAt. If the (pool,
   * provider, subject) pair is already linked — to this identity or another — nothing changes. Returns the login as
   * stored after the call, so the caller sees who owns it; undefined, with nothing linked, when the identity does
   * not exist or is disabled (deleted or merged away meanwhile) and nobody owns the login.
   */
  linkLogin(login: Login): Promise<Login | undefined>;
  findLogin(identityPoolId: string, providerName: string, subject: string): Promise<Login | undefined>;
  /** The identity's logins ordered by (providerName, subject). */
  listLogins(identityId: string): Promise<Login[]>;
  /**
   * listLogins of several identities in one read (a page of ListIdentities makes one call, not one per identity): a
   * map keyed by each given ID, in the order given, to that identity's logins as listLogins returns them; an empty
   * list for an identity with none, or that does not exist.
   */
  listLoginsOf(identityIds: readonly string[]): Promise<Map<string, Login[]>>;
  /**
   * Removes those of `logins` that are linked to the identity, in one atomic unit with what follows from it: when
   * any was removed, the identity's lastModifiedAt becomes `now`, and an identity left with no login is disabled
   * (an unlinked identity becomes inaccessible, its data kept). Returns how many were removed; undefined, with
   * nothing changed, when the identity does not exist.
   */
  unlinkLogins(identityId: string, logins: readonly LoginName[], now: number): Promise<number | undefined>;
  /**
   * Merges `mergedId` into `survivorId` in one atomic unit (SPEC §5.7): every login of the merged identity moves
   * to the survivor; the merged identity is disabled (kept, so its ID is never reused); each live dataset of the
   * merged identity moves to the survivor under the name `datasetName(name, taken)` (callers pass
   * domain/merged-dataset-name.ts), where `taken` holds every dataset name of the survivor, deleted ones included,
   * and the names given before in this merge: no dataset of the survivor is replaced. Each moves with
   * `mergeParent` = its old name, dataset sync count
   * 1 and every live record at sync count 1 (tombstones are dropped); its deleted dataset rows are dropped;
   * its devices and subscriptions are dropped. Both identities must be in the same pool, and a merge of an
   * identity into itself is refused with an Error; undefined, with nothing merged, when either no longer exists (a
   * deletion won the race). Datasets moved may exceed the survivor's dataset quota (AWS: merged datasets "continue
   * to use up space").
   */
  mergeIdentities(args: {
    survivorId: string;
    mergedId: string;
    now: number;
    datasetName: (name: string, taken: ReadonlySet<string>) => string;
  }): Promise<MergeOutcome | undefined>;

  // --- Cognito Sync settings of a pool ------------------------------------------------------------------
  /** The pool's settings; defaults (no events, no push, no streams, NOT_STARTED) when never set. */
  getPoolSyncSettings(identityPoolId: string): Promise<PoolSyncSettings>;
  /**
   * Atomic read-modify-write of the pool's settings: `update` receives the current settings and returns the
   * new ones (or throws to abort). Concurrent updates are serialised; none is lost. Undefined, with nothing written,
   * when the pool does not exist: a pool deleted meanwhile keeps no settings.
   */
  updatePoolSyncSettings(
    identityPoolId: string,
    update: (current: PoolSyncSettings) => PoolSyncSettings,
  ): Promise<PoolSyncSettings | undefined>;

  // --- datasets and records -----------------------------------------------------------------------------
  /** The dataset row, deleted ones included; undefined when it never existed. */
  getDataset(identityId: string, datasetName: string): Promise<DatasetRow | undefined>;
  /** Live datasets of an identity ordered by name; `after` is the last name of the previous page. */
  listDatasets(identityId: string, page: Page<string>): Promise<DatasetRow[]>;
  /** Names of the identity's live datasets whose `mergeParent` is `datasetName`, ordered by name. */
  listMergedDatasetNames(identityId: string, datasetName: string): Promise<string[]>;
  /**
   * getIdentity, getDataset and listMergedDatasetNames for one dataset, read from one consistent state: what
   * ListRecords needs before it lists records (one round trip for an engine across a network). Each part is as those
   * methods return it, whether or not the others exist (a dataset is returned even when its identity is absent).
   */
  getDatasetView(identityId: string, datasetName: string): Promise<DatasetView>;
  /**
   * Records and tombstones with `sinceSyncCount < syncCount <= upToSyncCount`, ordered by (syncCount, key),
   * starting after the (syncCount, key) position `page.after`.
   */
  listRecords(
    identityId: string,
    datasetName: string,
    range: { sinceSyncCount: number; upToSyncCount: number },
    page: Page<{ syncCount: number; key: string }>,
  ): Promise<RecordRow[]>;
  /**
   * The UpdateRecords commit. In one atomic unit: reads the DatasetWriteState for `command` (dataset row,
   * current rows of `command.keys`, live dataset count, whether `command.sessionId` was consumed), calls
   * `plan(state)`, stores the plan's dataset row and records verbatim, and marks the session consumed.
   * If `plan` throws, nothing is written (the session stays unconsumed) and the error is rethrown. `plan` must be
   * free of side effects: an adapter may call it again on a fresh read (SQLite does when it retries a batch).
   * Concurrent calls on the same dataset are serialised: each plan sees the effects of all earlier commits.
   * A plan whose `dataset` is undefined writes nothing but still consumes the session.
   */
  writeRecords<T extends WritePlan>(command: WriteCommand, plan: (state: DatasetWriteState) => T): Promise<T>;
  /**
   * Marks a live dataset deleted at `now`: purges its records and tombstones, records the sync count it had,
   * and drops its subscriptions. Returns the row as it was before deletion, or undefined when the dataset does
   * not exist or is already deleted.
   */
  deleteDataset(identityId: string, datasetName: string, now: number): Promise<DatasetRow | undefined>;
  /**
   * True when a successful writeRecords of this identity already consumed the session (the one whose command had
   * this sessionId and sessionExpiresAt). Session IDs are unique on their own; the identity and the expiry locate
   * them (a sharded engine keeps them with the identity's other rows; SQLite keys them by expiry).
   */
  isSessionConsumed(identityId: string, session: ConsumedSessionKey): Promise<boolean>;
  /** Forgets consumed-session markers that expired before `now`. */
  pruneConsumedSessions(now: number): Promise<number>;

  // --- usage ----------------------------------------------------------------------------------------------
  getIdentityUsage(identityId: string): Promise<IdentityUsage>;
  /**
   * Usage of each given pool, in the same order; pools without data get zeros and null dates. Exact for pools nobody
   * writes meanwhile; an engine may read a large pool in parts with other calls served between (SQLite does), so a
   * write made during the call may be counted or not, and a dataset a racing merge moves may be counted under both
   * names or neither. A call the store's close overtakes may reject.
   */
  getPoolUsage(identityPoolIds: readonly string[]): Promise<PoolUsage[]>;

  // --- push devices and subscriptions -----------------------------------------------------------------------
  /**
   * Registers a device; the same (identity, platform, token) always yields the same device, so clients that
   * register again get their existing DeviceId. `newDeviceId` is used only when the device is new. Undefined, with
   * nothing stored, when the identity does not exist (deleted meanwhile).
   */
  registerDevice(device: Device): Promise<Device | undefined>;
  /** The identity's device; undefined when absent or registered to another identity. */
  getDevice(identityId: string, deviceId: string): Promise<Device | undefined>;
  /**
   * Idempotent. False, with nothing stored, when the identity has no such device or no such live dataset (deleted
   * meanwhile).
   */
  subscribe(identityId: string, datasetName: string, deviceId: string, now: number): Promise<boolean>;
  /** False when there was no such subscription. */
  unsubscribe(identityId: string, datasetName: string, deviceId: string): Promise<boolean>;
  /** Devices subscribed to a dataset (for push, later). */
  listSubscribedDevices(identityId: string, datasetName: string): Promise<Device[]>;

  // --- throttling (optional) -------------------------------------------------------------------------------
  /**
   * Token buckets shared by every instance on this store (PostgreSQL; on SQLite the buckets stay in each server
   * process's memory). Atomically takes one token from each bucket, or none when any is empty (then answers the name of
   * the first empty one, else undefined). A bucket never seen is full (`burst`); it refills at `ratePerSecond` by
   * the database's clock, so the instances' clocks do not matter.
   */
  takeTokens?(buckets: readonly TokenBucket[]): Promise<string | undefined>;

  /** Finishes work in flight (pending group commits) and releases the engine. Idempotent. */
  close(): Promise<void>;
}

export interface TokenBucket { readonly name: string; readonly ratePerSecond: number; readonly burst: number }
