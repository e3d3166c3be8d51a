import { LocalStoreError } from './errors.js';
import type { LocalStore } from './store/store.js';
import { emptySnapshot, type DatasetSnapshot, type LocalRecord } from './types.js';
import type { RemoteRecord } from './remote.js';

/** What applying one remote record did to the local copy. */
export type RemoteOutcome =
  | { readonly kind: 'unchanged' }
  /** The server's version is a push of this device whose answer never arrived (a lost response). */
  | { readonly kind: 'own' }
  | { readonly kind: 'applied'; readonly valueChanged: boolean }
  | { readonly kind: 'conflict'; readonly local: LocalRecord };

/**
 * The local copy of one dataset of one identity: the records in memory, written to the store after each change.
 * Writes are group-committed: changes made while a write is in flight go out together in the next one, and each
 * caller's promise resolves once a write that includes its change is durable.
 */
export class LocalCopy {
  private records = new Map<string, LocalRecord>();
  lastSyncCount = 0;
  pendingDelete = false;
  /** A DeleteDataset for `pendingDelete` was sent and its answer not recorded: it may have been done. */
  deletionSent = false;
  /**
   * With `deletionSent`: the dataset's sync count on the server, read just before the deletion was first sent
   * (deletion.ts); a listing from it reports whether this deletion, or a later one, was done.
   */
  deletionBase = 0;
  /** Incremented by wipe(): a sync round that started before a wipe must not write what it fetched. */
  generation = 0;
  private changeCounter = 0;
  private lastWrite: Promise<void> = Promise.resolve();
  private nextWrite: Promise<void> | undefined;
  /**
   * Records pushed and not acknowledged: the push failed (a lost answer, a timeout, a crash or close() before the
   * answer was recorded) and may have been stored. Kept in the snapshot (`pushing`), written before the request is
   * sent, so that after a restart the next listing still takes the device's own write as such.
   */
  private readonly unacknowledged = new Map<string, LocalRecord>();
  /** How to take back each app edit (edit, wipe) made since the last write began, oldest first. */
  private unwritten: Array<() => void> = [];

  private constructor(private readonly store: LocalStore, readonly storeKey: string) {}

  static async load(store: LocalStore, storeKey: string): Promise<LocalCopy> {
    const copy = new LocalCopy(store, storeKey);
    const found = await store.get(storeKey);
    copy.restore(found && 'records' in found ? found : emptySnapshot());
    return copy;
  }

  record(key: string): LocalRecord | undefined {
    return this.records.get(key);
  }

  /** Every record, tombstones included. */
  all(): LocalRecord[] {
    return [...this.records.values()];
  }

  /** Live values (tombstones left out). */
  values(): Map<string, string> {
    const out = new Map<string, string>();
    for (const r of this.records.values()) if (r.value !== null) out.set(r.key, r.value);
    return out;
  }

  /** Records changed here and not yet accepted by the server, oldest change first. */
  dirty(): LocalRecord[] {
    return [...this.records.values()].filter((r) => r.pending > 0).sort((a, b) => a.pending - b.pending);
  }

  /**
   * A local edit: a new value, or `null` to remove. Keeps the record's sync count (what the server must hold).
   * The sync's own edits (a merged dataset folded in, a guest's changes moved) are made this way: never taken back.
   */
  edit(key: string, value: string | null, now: number): LocalRecord {
    const edited: LocalRecord = {
      key, value, syncCount: this.records.get(key)?.syncCount ?? 0, modifiedAt: now, pending: ++this.changeCounter,
    };
    this.records.set(key, edited);
    return edited;
  }

  /**
   * The app's edit (put, remove): as edit(), and taken back when the write that carries it fails, if the record is
   * still this edit then (a later edit, or the sync's, stands).
   */
  appEdit(key: string, value: string | null, now: number): void {
    const before = this.records.get(key);
    const edited = this.edit(key, value, now);
    this.unwritten.push(() => {
      if (this.records.get(key) !== edited) return;
      if (before) this.records.set(key, before);
      else this.records.delete(key);
    });
  }

  /**
   * The app deleted the dataset: everything local goes, and the next sync deletes it on the server. Taken back
   * when the write that carries it fails, unless the sync has replaced the copy since (a remote deletion): the
   * records come back, under any edits made since the wipe that are still there (they stay, on the old counts).
   */
  wipe(): void {
    const before = { records: this.records, pendingDelete: this.pendingDelete };
    const wiped = new Map<string, LocalRecord>();
    this.records = wiped;
    this.unacknowledged.clear();
    this.pendingDelete = true;
    this.generation += 1;
    this.unwritten.push(() => {
      if (this.records !== wiped || !this.pendingDelete) return;
      const restored = new Map(before.records);
      for (const later of wiped.values()) {
        restored.set(later.key, { ...later, syncCount: before.records.get(later.key)?.syncCount ?? 0 });
      }
      this.records = restored;
      this.pendingDelete = before.pendingDelete;
    });
  }

  /**
   * The server deleted the dataset, or lost the counts this copy reached (a restore): start over from sync count 0,
   * keeping only what `keep` selects, re-based and to be pushed.
   */
  rebase(keep: (r: LocalRecord) => boolean): void {
    this.unacknowledged.clear();
    const kept = [...this.records.values()].filter(keep);
    this.records = new Map(kept.map((r) => [r.key, { ...r, syncCount: 0, pending: r.pending || ++this.changeCounter }]));
    this.lastSyncCount = 0;
  }

  /** Notes the records a push is about to send (see `unacknowledged`); persist() before sending them. */
  pushing(records: readonly LocalRecord[]): void {
    for (const r of records) this.unacknowledged.set(r.key, r);
  }

  /**
   * A whole listing from a sync count no later than the last push's listing has been applied: a write of that push
   * the server stored is in it (or a later version of its record is), so a sent record it did not match was not
   * stored or was overwritten since, and is forgotten.
   */
  listingApplied(): void {
    this.unacknowledged.clear();
  }

  /**
   * Takes a server record unless it conflicts with a local change (Android's rule: dirty, other version, other
   * value). The server's version of an unacknowledged push of this device is no conflict: an edit made since is
   * based on it, and stays to be pushed.
   */
  applyRemote(remote: RemoteRecord): RemoteOutcome {
    const local = this.records.get(remote.key);
    if (local && remote.syncCount < local.syncCount) return { kind: 'unchanged' };
    const sent = this.unacknowledged.get(remote.key);
    if (sent && sent.value === remote.value && Math.abs(sent.modifiedAt - remote.modifiedAt) <= 1) {
      this.unacknowledged.delete(remote.key);
      if (local && local.pending > 0 && local.pending !== sent.pending) this.records.set(remote.key, { ...local, syncCount: remote.syncCount });
      else this.records.set(remote.key, { ...remote, pending: 0 });
      return { kind: 'own' };
    }
    if (local && local.pending > 0) {
      if (remote.syncCount === local.syncCount) return { kind: 'unchanged' };
      if (local.value !== remote.value) return { kind: 'conflict', local };
      if (local.modifiedAt > remote.modifiedAt) {
        // Same value, written later here: push it again so the server carries the later time, which later
        // last-writer-wins decisions on other devices compare against.
        this.records.set(remote.key, { ...local, syncCount: remote.syncCount });
        return { kind: 'unchanged' };
      }
    }
    this.records.set(remote.key, { ...remote, pending: 0 });
    return { kind: 'applied', valueChanged: (local?.value ?? null) !== remote.value };
  }

  /** Takes the server's version (a conflict resolved for the server). */
  takeRemote(remote: RemoteRecord): void {
    this.records.set(remote.key, { ...remote, pending: 0 });
  }

  /** Keeps a local value over the server's `remote` version: pushed next with the server's count. */
  overrule(key: string, remote: RemoteRecord, value: string | null, now: number): void {
    const local = this.records.get(key);
    const modifiedAt = local && local.value === value ? local.modifiedAt : now;
    this.records.set(key, { key, value, syncCount: remote.syncCount, modifiedAt, pending: ++this.changeCounter });
  }

  /** Rebases a local change that is newer than `remote` onto its sync count (it stays dirty). */
  rebaseOnto(key: string, remote: RemoteRecord): void {
    const local = this.records.get(key);
    if (local) this.records.set(key, { ...local, syncCount: Math.max(local.syncCount, remote.syncCount) });
  }

  /** Sets the sync count a local change is based on (the server said it holds `syncCount` for the key). */
  rebaseKey(key: string, syncCount: number): void {
    const local = this.records.get(key);
    if (local) this.records.set(key, { ...local, syncCount });
  }

  /** The server stored `stored` for a pushed record that had `pushedPending`: clean unless edited meanwhile. */
  acknowledge(stored: RemoteRecord, pushedPending: number | undefined): void {
    this.unacknowledged.delete(stored.key);
    const local = this.records.get(stored.key);
    if (local && local.pending > 0 && local.pending !== pushedPending) {
      this.records.set(stored.key, { ...local, syncCount: stored.syncCount });
      return;
    }
    if (local?.pending === 0 && local.syncCount > stored.syncCount) return;
    this.records.set(stored.key, { ...stored, pending: 0 });
  }

  /**
   * Writes the current state; resolves once a write containing every change made so far is durable. A failed
   * write rejects with LocalStoreError after taking back the app edits it carried (newest first), before any
   * later write reads the state: what the app reads again matches the store. A copy holding nothing (no record,
   * never synced or deleted on the server, nothing in flight) is removed from the store instead: loading a missing
   * entry gives the same copy, and localDatasets() lists only datasets with something kept here.
   */
  persist(): Promise<void> {
    if (!this.nextWrite) {
      const write = this.lastWrite.then(async () => {
        this.nextWrite = undefined;
        const carried = this.unwritten;
        this.unwritten = [];
        try {
          const snapshot = this.snapshot();
          if (isEmpty(snapshot)) await this.store.delete(this.storeKey);
          else await this.store.set(this.storeKey, snapshot);
        } catch (err) {
          for (const undo of carried.reverse()) undo();
          throw new LocalStoreError(`the local store could not save dataset ${this.storeKey}: ${String(err)}`, { cause: err });
        }
      });
      this.nextWrite = write;
      this.lastWrite = write.catch(() => undefined);
    }
    return this.nextWrite;
  }

  snapshot(): DatasetSnapshot {
    return {
      format: 1, lastSyncCount: this.lastSyncCount, pendingDelete: this.pendingDelete,
      changeCounter: this.changeCounter, records: [...this.records.values()],
      ...(this.unacknowledged.size > 0 ? { pushing: [...this.unacknowledged.values()] } : {}),
      ...(this.deletionSent ? { deletionSent: true } : {}),
      ...(this.deletionBase > 0 ? { deletionBase: this.deletionBase } : {}),
    };
  }

  private restore(s: DatasetSnapshot): void {
    this.records = new Map(s.records.map((r) => [r.key, r]));
    this.lastSyncCount = s.lastSyncCount;
    this.pendingDelete = s.pendingDelete;
    this.changeCounter = s.changeCounter;
    for (const r of s.pushing ?? []) this.unacknowledged.set(r.key, r);
    this.deletionSent = s.deletionSent ?? false;
    this.deletionBase = s.deletionBase ?? 0;
  }
}

/** Whether `s` holds nothing a copy loaded from no entry would not (its change counter restarts with no records). */
function isEmpty(s: DatasetSnapshot): boolean {
  return s.records.length === 0 && s.lastSyncCount === 0 && !s.pendingDelete && s.pushing === undefined &&
    s.deletionSent === undefined;
}
