import type { Clock } from '../api/operation.js';
import type { Logger } from '../logger.js';
import type { SyncStore } from '../storage/store.js';
import type { BulkPublishState } from '../storage/types.js';
import {
  BULK_PUBLISH_LEASE_MS, INTERRUPTED_MESSAGE, finishBulkPublish, renewBulkPublishLease,
} from '../domain/bulk-publish.js';
import type { HookRunner } from './hook-runner.js';

interface Run {
  readonly startedAt: number;
  readonly renewal: NodeJS.Timeout;
}

/**
 * The bulk publishes this server runs (BulkPublish answers at once; the `bulkPublish` hooks then work in the
 * background). While a run works its lease is renewed, so that every instance sees it IN_PROGRESS; its outcome is
 * recorded when the hooks settle. close() records the runs still working as FAILED: they will not finish, and their
 * pools may publish again at once rather than when the lease runs out.
 */
export class BulkPublishRuns {
  private readonly running = new Map<string, Run>();

  constructor(private readonly deps: {
    readonly store: SyncStore;
    readonly clock: Clock;
    readonly hooks: HookRunner;
    readonly logger: Logger;
    readonly region: string;
    /** How long each renewal vouches for a run (BULK_PUBLISH_LEASE_MS; shorter in tests). */
    readonly leaseMs?: number;
  }) {}

  get leaseMs(): number {
    return this.deps.leaseMs ?? BULK_PUBLISH_LEASE_MS;
  }

  /** Runs the publish of the pool's run started at `startedAt` (already stored IN_PROGRESS) in the background. */
  start(identityPoolId: string, startedAt: number, requestId: string): void {
    const renewal = setInterval(() => {
      void this.record(identityPoolId, requestId,
        (state, now) => renewBulkPublishLease(state, startedAt, now, this.leaseMs));
    }, this.leaseMs / 3);
    renewal.unref();
    this.running.set(identityPoolId, { startedAt, renewal });
    void this.publish(identityPoolId, startedAt, requestId);
  }

  async close(): Promise<void> {
    const runs = [...this.running];
    this.running.clear();
    await Promise.all(runs.map(([identityPoolId, run]) => {
      clearInterval(run.renewal);
      return this.record(identityPoolId, 'shutdown',
        (state, now) => finishBulkPublish(state, run.startedAt, now, INTERRUPTED_MESSAGE));
    }));
  }

  private async publish(identityPoolId: string, startedAt: number, requestId: string): Promise<void> {
    let failure: string | null = null;
    try {
      await this.deps.hooks.bulkPublish({ region: this.deps.region, identityPoolId, requestId });
    } catch (err) {
      failure = err instanceof Error ? err.message : String(err);
    }
    const run = this.running.get(identityPoolId);
    // Gone: close() has recorded this run as interrupted, and the store may be closed by now.
    if (run?.startedAt !== startedAt) return;
    clearInterval(run.renewal);
    this.running.delete(identityPoolId);
    await this.record(identityPoolId, requestId, (state, now) => finishBulkPublish(state, startedAt, now, failure));
  }

  private async record(
    identityPoolId: string, requestId: string, change: (state: BulkPublishState, now: number) => BulkPublishState,
  ): Promise<void> {
    try {
      await this.deps.store.updatePoolSyncSettings(identityPoolId, (current) => (
        { ...current, bulkPublish: change(current.bulkPublish, this.deps.clock.now()) }));
    } catch (err) {
      this.deps.logger.error({ requestId, err }, `[bulkPublish] could not record the state of ${identityPoolId}`);
    }
  }
}
