import { Emitter } from './emitter.js';
import { ClosedError, SyncError } from './errors.js';
import type { LocalCopy } from './local-copy.js';
import type { Remote } from './remote.js';
import { deleteOnServer } from './deletion.js';
import { synchronizeDataset, type DatasetEvents, type SyncPolicies, type SyncResult } from './sync.js';
import { checkKey, checkValue } from './validate.js';

/**
 * One dataset of the client's current identity: reads come from the local copy (in memory, loaded from the
 * store), writes go to the store before their promise resolves, and synchronize() exchanges changes with the
 * server. Works offline; nothing is sent until synchronize().
 */
export class Dataset {
  private readonly events: Emitter<DatasetEvents>;
  private syncQueue: Promise<unknown> = Promise.resolve();
  private closed = false;

  /** @internal Use CosyncClient.openDataset(). */
  constructor(
    readonly name: string,
    readonly identityId: string,
    private readonly copy: LocalCopy,
    private readonly remote: () => Promise<Remote>,
    private readonly policies: SyncPolicies,
  ) {
    this.events = new Emitter(policies.onListenerError);
  }

  /** The value of `key`, or undefined when there is none (never written, or removed). */
  get(key: string): string | undefined {
    return this.copy.record(key)?.value ?? undefined;
  }

  /** Every live record as key → value. */
  getAll(): Record<string, string> {
    return Object.fromEntries(this.copy.values());
  }

  /** The number of live records. */
  size(): number {
    return this.copy.values().size;
  }

  /** Local changes not yet accepted by the server. */
  pendingChanges(): number {
    return this.copy.dirty().length + (this.copy.pendingDelete ? 1 : 0);
  }

  /** True after delete() until a synchronize() has deleted the dataset on the server. */
  pendingDeletion(): boolean {
    return this.copy.pendingDelete;
  }

  /**
   * Sets a value (the empty string is a value); resolves once the change is in the local store. Rejects with
   * LocalStoreError when the store cannot keep it, and then the change is taken back (unless a sync has already
   * replaced the record with the server's answer to it, which the store then gets).
   */
  async put(key: string, value: string): Promise<void> {
    this.checkOpen();
    checkKey(key);
    checkValue(value);
    this.copy.appEdit(key, value, this.policies.now());
    await this.copy.persist();
  }

  /**
   * Removes a record; the removal is pushed as an explicit `remove`. A key this device has not pulled yet may still
   * exist on the server (written by another device since): its removal is pushed too, and meets that value as a
   * conflict for the resolver, as any removal of a record another device changed does.
   */
  async remove(key: string): Promise<void> {
    this.checkOpen();
    checkKey(key);
    this.copy.appEdit(key, null, this.policies.now());
    await this.copy.persist();
  }

  /** Deletes the dataset: the local copy now, the server's at the next synchronize(). Later puts start a new one. */
  async delete(): Promise<void> {
    this.checkOpen();
    this.copy.wipe();
    await this.copy.persist();
  }

  /**
   * Exchanges changes with the server. Calls are queued: a call made during a sync runs after it, so every
   * change made before the call is pushed by the time its promise resolves. Rejects with a SyncError; the local
   * copy keeps every unsynced change, so calling again later (e.g. when back online) continues.
   */
  synchronize(): Promise<SyncResult> {
    const run = () => this.runSync();
    const next = this.syncQueue.then(run, run);
    this.syncQueue = next.catch(() => undefined);
    return next;
  }

  on<K extends keyof DatasetEvents>(event: K, listener: (arg: DatasetEvents[K]) => void): () => void {
    return this.events.on(event, listener);
  }

  /** @internal Sends a pending delete() to the server now (before a guest is merged away), in turn with syncs. */
  carryOutDeletion(): Promise<void> {
    const run = async () => {
      if (!this.copy.pendingDelete) return;
      await deleteOnServer(this.copy, await this.remote(), this.name);
    };
    const next = this.syncQueue.then(run, run);
    this.syncQueue = next.catch(() => undefined);
    return next;
  }

  /**
   * @internal Ends the handle (identity change or client close) after pending writes are stored and a running sync
   * has stopped: it records the answer to a request in flight (what the server did stays known) and sends no more.
   */
  async close(): Promise<void> {
    this.closed = true;
    await this.copy.persist();
    await this.syncQueue;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private async runSync(): Promise<SyncResult> {
    try {
      if (this.closed) throw new SyncError('closed', `dataset ${this.name} is closed`);
      const remote = await this.remote();
      const result = await synchronizeDataset({
        datasetName: this.name, copy: this.copy, remote, policies: this.policies, events: this.events,
        isClosed: () => this.closed,
      });
      this.events.emit('synced', result);
      return result;
    } catch (err) {
      const failure = err instanceof SyncError ? err : new SyncError('rejected', String(err), { cause: err });
      this.events.emit('syncFailed', failure);
      throw failure;
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new ClosedError(`dataset ${this.name} of identity ${this.identityId} is closed; open it again`);
  }
}
