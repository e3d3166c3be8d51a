import type { Emitter, ListenerErrorHandler } from './emitter.js';
import { deleteOnServer } from './deletion.js';
import { ClosedError, LocalStoreError, SyncError } from './errors.js';
import type { LocalCopy } from './local-copy.js';
import { MAX_PATCHES_PER_UPDATE, type RemoteListing, type RemoteRecord, type Remote, type RequestCounts } from './remote.js';
import { checkResolution, describeAnswer, type Conflict, type ConflictResolver, type Resolution } from './resolvers.js';
import { backoffDelay, classify, sleep, type RetryOptions } from './retry.js';
import type { LocalRecord } from './types.js';

/**
 * What to do when the server says the dataset was deleted (by another device) since the last sync:
 * - 'keep-unsynced' (default): drop what was synced, keep local changes not yet pushed and push them (they are
 *   newer than anything the deleting device saw), re-creating the dataset with only them;
 * - 'delete': drop the whole local copy, unsynced changes included;
 * - 'keep-all': keep every local value and push it all back (undoing the deletion).
 */
export type RemoteDeletionPolicy = 'keep-unsynced' | 'delete' | 'keep-all';

export interface SyncPolicies {
  readonly resolver: ConflictResolver;
  readonly onRemoteDeleted: RemoteDeletionPolicy | ((datasetName: string) => RemoteDeletionPolicy | Promise<RemoteDeletionPolicy>);
  /** Fold datasets merged in from another identity (`<name>.<oldIdentityId>`) into this one, then delete them. */
  readonly foldMergedDatasets: boolean;
  readonly retry: RetryOptions;
  readonly now: () => number;
  readonly random: () => number;
  readonly onListenerError: ListenerErrorHandler;
}

export interface ResolvedConflict extends Conflict {
  readonly resolution: Resolution;
}

export interface DatasetEvents {
  conflict: ResolvedConflict;
  remoteDeleted: { readonly datasetName: string; readonly policy: RemoteDeletionPolicy };
  merged: { readonly datasetName: string; readonly mergedDatasetNames: readonly string[] };
  synced: SyncResult;
  syncFailed: SyncError;
}

/** What one synchronize() did. */
export interface SyncResult {
  readonly datasetName: string;
  /** Keys whose local value changed because of the server (pulled, or a conflict the server's value won). */
  readonly pulled: string[];
  /** Keys the server accepted from this device. */
  readonly pushed: string[];
  readonly conflicts: ResolvedConflict[];
  /** The server had deleted the dataset; the deletion policy was applied. */
  remoteDeleted: boolean;
  /** Merged datasets folded into this one and deleted on the server. */
  readonly mergedDatasets: string[];
  /** Requests this synchronize() made, retries included. */
  readonly requests: RequestCounts;
  /** Rounds that failed and were retried (409, 429, 5xx, network, expired session). */
  retries: number;
  /** The server's dataset sync count the local copy is now up to date with. */
  syncCount: number;
}

export interface SyncContext {
  readonly datasetName: string;
  readonly copy: LocalCopy;
  readonly remote: Remote;
  readonly policies: SyncPolicies;
  readonly events: Emitter<DatasetEvents>;
  readonly isClosed: () => boolean;
}

/** The local copy was wiped by the app during a round: start the round again (not a failure). */
class RestartRound extends Error {}

/** Rounds of list → resolve → push until nothing is left, retrying failures with bounded backoff. */
export async function synchronizeDataset(ctx: SyncContext): Promise<SyncResult> {
  const result: SyncResult = {
    datasetName: ctx.datasetName, pulled: [], pushed: [], conflicts: [], remoteDeleted: false, mergedDatasets: [],
    requests: ctx.remote.counts, retries: 0, syncCount: ctx.copy.lastSyncCount,
  };
  let relistFrom: number | undefined;
  for (let rounds = 0; ; rounds++) {
    if (ctx.isClosed()) throw new SyncError('closed', `dataset ${ctx.datasetName} was closed`);
    if (rounds > ctx.policies.retry.attempts + 64) throw new SyncError('retries-exhausted', 'too many sync rounds');
    try {
      const more = await syncRound(ctx, result, relistFrom);
      relistFrom = undefined;
      if (!more) return finished(ctx, result);
    } catch (err) {
      if (err instanceof RestartRound) continue;
      relistFrom = await recover(ctx, result, err);
    }
  }
}

/** The result to answer: a key pulled or pushed in more than one round (a 409 lists again) is listed once. */
function finished(ctx: SyncContext, result: SyncResult): SyncResult {
  const unique = (keys: string[]) => [...new Set(keys)];
  return { ...result, pulled: unique(result.pulled), pushed: unique(result.pushed), syncCount: ctx.copy.lastSyncCount };
}

/** Decides whether a failed round is retried (and from which sync count it lists again), or throws. */
async function recover(ctx: SyncContext, result: SyncResult, err: unknown): Promise<number | undefined> {
  if (err instanceof ClosedError) throw new SyncError('closed', err.message, { cause: err });
  if (err instanceof SyncError) throw err;
  if (err instanceof LocalStoreError) throw new SyncError('local-failure', `synchronize ${ctx.datasetName}: ${err.message}`, { cause: err });
  const kind = classify(err);
  const message = err instanceof Error ? err.message : String(err);
  if (kind === 'fatal') throw new SyncError('rejected', `synchronize ${ctx.datasetName}: ${message}`, { cause: err });
  result.retries += 1;
  if (result.retries >= ctx.policies.retry.attempts) {
    throw new SyncError('retries-exhausted', `synchronize ${ctx.datasetName} failed ${result.retries} times: ${message}`, { cause: err });
  }
  if (kind === 'server-reset') {
    // The server no longer has the sync count this copy reached (restored from a backup): push everything again,
    // removals included (tombstones, pending or synced), or the restored server's older values would come back.
    ctx.copy.rebase(() => true);
    await ctx.copy.persist();
    return undefined;
  }
  if (kind !== 'expired-session') await sleep(backoffDelay(ctx.policies.retry, result.retries, ctx.policies.random));
  return kind === 'conflict' ? rewindAfterConflict(ctx.copy, message) : undefined;
}

/**
 * After a 409 the server holds a version this copy has not seen: list again from before the oldest local base,
 * and before the count the server named ("Current SyncCount for: <key> is: <n> not: <m>"). A key the server
 * does not have at all (n = 0, its dataset was re-created) is re-based to 0 at once.
 */
function rewindAfterConflict(copy: LocalCopy, message: string): number {
  let from = Math.min(copy.lastSyncCount, ...copy.dirty().map((r) => r.syncCount));
  const named = /^Current SyncCount for: (.+) is: (\d+) not: (\d+)$/.exec(message);
  if (named) {
    const serverCount = Number(named[2]);
    if (serverCount === 0) copy.rebaseKey(named[1] ?? '', 0);
    else from = Math.min(from, serverCount - 1);
  }
  return from;
}

/** One round; answers true when another round is needed (more than one UpdateRecords' worth of changes). */
async function syncRound(ctx: SyncContext, result: SyncResult, relistFrom: number | undefined): Promise<boolean> {
  const { copy, remote, datasetName } = ctx;
  const generation = copy.generation;
  if (copy.pendingDelete) await deleteOnServer(copy, remote, datasetName, () => checkNotWiped(ctx, generation));
  const from = relistFrom ?? copy.lastSyncCount;
  const listing = await remote.listAll(datasetName, from);
  checkGeneration(ctx, generation);
  if (listing.deletedAfter || (from !== 0 && !listing.exists) || (from === 0 && vanished(copy, listing))) {
    await applyRemoteDeletion(ctx, result);
    return true;
  }
  await applyListing(ctx, result, listing, generation);
  const folded = ctx.policies.foldMergedDatasets ? await foldMerged(ctx, result, listing.mergedDatasetNames, generation) : [];
  if (!ctx.policies.foldMergedDatasets && listing.mergedDatasetNames.length > 0) {
    ctx.events.emit('merged', { datasetName, mergedDatasetNames: listing.mergedDatasetNames });
  }
  const more = await push(ctx, result, listing, generation);
  for (const name of folded) {
    await remote.deleteDataset(name);
    result.mergedDatasets.push(name);
  }
  return more;
}

/**
 * Runs the app's own code (a resolver, a policy function) and checks its answer: what it throws, or an answer
 * `check` refuses (a TypeError saying why), fails the sync at once, as 'local-failure'.
 */
async function appCode<T>(what: string, run: () => unknown, check: (answer: unknown) => T): Promise<T> {
  let answer: unknown;
  try {
    answer = await run();
  } catch (err) {
    throw new SyncError('local-failure', `${what} threw: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  try {
    return check(answer);
  } catch (err) {
    throw new SyncError('local-failure', `${what} answered ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

const POLICIES: readonly RemoteDeletionPolicy[] = ['keep-unsynced', 'delete', 'keep-all'];

/** `answer` if it is a RemoteDeletionPolicy; otherwise a TypeError naming it. */
export function checkPolicy(answer: unknown): RemoteDeletionPolicy {
  if (POLICIES.includes(answer as RemoteDeletionPolicy)) return answer as RemoteDeletionPolicy;
  throw new TypeError(`${describeAnswer(answer)}, not one of ${POLICIES.map((p) => `'${p}'`).join(', ')}`);
}

/**
 * A listing from 0 holds every live record of the server's dataset. A local value based on a server version
 * (sync count > 0) that it lacks belonged to a dataset that was deleted since (a copy that could not fast-forward
 * after pushing into a deleted dataset still sits at count 0, where no deletion flag is raised). Tombstones are
 * not compared: whether a listing from 0 carries them is not specified for AWS.
 */
function vanished(copy: LocalCopy, listing: RemoteListing): boolean {
  const listed = new Set(listing.records.map((r) => r.key));
  return copy.all().some((r) => r.syncCount > 0 && r.value !== null && !listed.has(r.key));
}

function checkGeneration(ctx: SyncContext, generation: number): void {
  if (ctx.isClosed()) throw new ClosedError(`dataset ${ctx.datasetName} was closed`);
  checkNotWiped(ctx, generation);
}

/**
 * After a write's answer (UpdateRecords, DeleteDataset): only a wipe stops the answer from being recorded. A close()
 * meanwhile does not; it waits for the sync, which records what the server did and stops at its next round.
 */
function checkNotWiped(ctx: SyncContext, generation: number): void {
  if (ctx.copy.generation !== generation) throw new RestartRound();
}

async function applyRemoteDeletion(ctx: SyncContext, result: SyncResult): Promise<void> {
  const p = ctx.policies.onRemoteDeleted;
  const policy = typeof p === 'function' ? await appCode('the onRemoteDeleted function', () => p(ctx.datasetName), checkPolicy) : p;
  const keep: Record<RemoteDeletionPolicy, (r: LocalRecord) => boolean> = {
    'keep-unsynced': (r) => r.pending > 0,
    delete: () => false,
    'keep-all': (r) => r.value !== null || r.pending > 0,
  };
  ctx.copy.rebase(keep[policy]);
  result.remoteDeleted = true;
  await ctx.copy.persist();
  ctx.events.emit('remoteDeleted', { datasetName: ctx.datasetName, policy });
}

async function applyListing(ctx: SyncContext, result: SyncResult, listing: RemoteListing, generation: number): Promise<void> {
  const conflicts: Array<{ remote: RemoteRecord; local: LocalRecord }> = [];
  for (const remote of listing.records) {
    const outcome = ctx.copy.applyRemote(remote);
    if (outcome.kind === 'applied' && outcome.valueChanged) result.pulled.push(remote.key);
    if (outcome.kind === 'own') result.pushed.push(remote.key);
    if (outcome.kind === 'conflict') conflicts.push({ remote, local: outcome.local });
  }
  for (const c of conflicts) await resolveConflict(ctx, result, c.local, c.remote, generation);
  ctx.copy.listingApplied();
  ctx.copy.lastSyncCount = listing.datasetSyncCount;
  await ctx.copy.persist();
}

async function resolveConflict(
  ctx: SyncContext, result: SyncResult, local: LocalRecord, remote: RemoteRecord, generation: number,
): Promise<void> {
  const conflict: Conflict = {
    datasetName: ctx.datasetName, key: remote.key,
    local: { value: local.value, modifiedAt: local.modifiedAt },
    remote: { value: remote.value, modifiedAt: remote.modifiedAt, syncCount: remote.syncCount },
  };
  const resolution = await appCode(`the conflict resolver (key ${remote.key})`, () => ctx.policies.resolver(conflict), checkResolution);
  checkGeneration(ctx, generation);
  const now = ctx.copy.record(remote.key);
  if (!now || now.pending < local.pending) {
    // The edit the resolver was shown was taken back meanwhile (its local write failed): decide on what is there.
    const outcome = ctx.copy.applyRemote(remote);
    if (outcome.kind === 'conflict') return resolveConflict(ctx, result, outcome.local, remote, generation);
    if (outcome.kind === 'applied' && outcome.valueChanged) result.pulled.push(remote.key);
    return;
  }
  if (now.pending > local.pending) {
    // Edited again while the resolver ran: the newest edit stands and goes over the server's version.
    ctx.copy.rebaseOnto(remote.key, remote);
  } else if (resolution.use === 'remote' || (resolution.use === 'value' && resolution.value === remote.value)) {
    ctx.copy.takeRemote(remote);
    result.pulled.push(remote.key);
  } else {
    const value = resolution.use === 'local' ? local.value : resolution.value;
    ctx.copy.overrule(remote.key, remote, value, ctx.policies.now());
  }
  const resolved = { ...conflict, resolution };
  result.conflicts.push(resolved);
  ctx.events.emit('conflict', resolved);
}

/**
 * Folds each merged dataset's live records into this one as local changes (a record both have is a conflict for
 * the resolver, the merged one as "remote"); answers the names folded, to delete once the result is pushed.
 */
async function foldMerged(ctx: SyncContext, result: SyncResult, names: readonly string[], generation: number): Promise<string[]> {
  if (names.length === 0) return [];
  for (const name of names) {
    const listing = await ctx.remote.listAll(name, 0);
    checkGeneration(ctx, generation);
    for (const r of listing.records) if (r.value !== null) await foldRecord(ctx, result, r, generation);
  }
  await ctx.copy.persist();
  ctx.events.emit('merged', { datasetName: ctx.datasetName, mergedDatasetNames: [...names] });
  return [...names];
}

async function foldRecord(ctx: SyncContext, result: SyncResult, merged: RemoteRecord, generation: number): Promise<void> {
  const local = ctx.copy.record(merged.key);
  if (local && local.value === merged.value) {
    if (merged.modifiedAt > local.modifiedAt) ctx.copy.edit(merged.key, merged.value, merged.modifiedAt);
    return;
  }
  let resolution: Resolution = { use: 'remote' };
  if (local) {
    resolution = await appCode(`the conflict resolver (key ${merged.key})`, () => ctx.policies.resolver({
      datasetName: ctx.datasetName, key: merged.key,
      local: { value: local.value, modifiedAt: local.modifiedAt },
      remote: { value: merged.value, modifiedAt: merged.modifiedAt, syncCount: merged.syncCount },
    }), checkResolution);
    checkGeneration(ctx, generation);
  }
  if (resolution.use === 'local') return;
  const value = resolution.use === 'remote' ? merged.value : resolution.value;
  ctx.copy.edit(merged.key, value, resolution.use === 'remote' ? merged.modifiedAt : ctx.policies.now());
  result.pulled.push(merged.key);
}

/** Pushes up to one UpdateRecords' worth of local changes with the listing's session token. */
async function push(ctx: SyncContext, result: SyncResult, listing: RemoteListing, generation: number): Promise<boolean> {
  // Removals first, so a dataset at its record quota can make room before it grows.
  const dirty = ctx.copy.dirty().sort((a, b) => Number(a.value !== null) - Number(b.value !== null));
  if (dirty.length === 0) return false;
  const chunk = dirty.slice(0, MAX_PATCHES_PER_UPDATE);
  const pushedPending = new Map(chunk.map((r) => [r.key, r.pending]));
  ctx.copy.pushing(chunk);
  // Stored before sending, so that a write whose answer is never recorded (lost, a crash) is known as this
  // device's own at the next listing, after a restart too.
  await ctx.copy.persist();
  checkGeneration(ctx, generation);
  const stored = await ctx.remote.update(ctx.datasetName, listing.sessionToken, chunk);
  checkNotWiped(ctx, generation);
  for (const s of stored) ctx.copy.acknowledge(s, pushedPending.get(s.key));
  for (const r of chunk) result.pushed.push(r.key);
  // No fast-forward past this write (the official clients move to listing + 1 when the counts line up): a dataset
  // deleted between the listing and this write is re-created at that very count, so a listing from it would never
  // report the deletion. The next listing starts from the listing's count and gets these records back once.
  await ctx.copy.persist();
  return dirty.length > chunk.length;
}
