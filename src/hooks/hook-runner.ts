import type { Logger } from '../logger.js';
import type {
  BeforeUpdateRecordsPayload, BulkPublishPayload, DatasetChangedPayload, DatasetDeletedPayload, RecordChange, SyncHooks,
} from './types.js';

/** Runs registered hooks in their defined order with the error handling each hook kind's contract states. */
export class HookRunner {
  constructor(private readonly hooks: readonly SyncHooks[], private readonly logger: Logger) {}

  /** True when some hook wants to see UpdateRecords before commit. */
  get hasBeforeUpdateRecords(): boolean {
    return this.hooks.some((h) => h.beforeUpdateRecords);
  }

  async beforeUpdateRecords(payload: BeforeUpdateRecordsPayload): Promise<readonly RecordChange[]> {
    let changes = payload.changes;
    for (const hook of this.hooks) {
      if (!hook.beforeUpdateRecords) continue;
      try {
        changes = (await hook.beforeUpdateRecords({ ...payload, changes })) ?? changes;
      } catch (err) {
        this.logger.warn({ requestId: payload.requestId, err }, `[${hook.name}.beforeUpdateRecords] ${String(err)}`);
        throw err;
      }
    }
    return changes;
  }

  afterDatasetChanged(payload: DatasetChangedPayload): void {
    this.fanOut('afterDatasetChanged', payload.requestId, (h) => h.afterDatasetChanged?.(payload));
  }

  afterDatasetDeleted(payload: DatasetDeletedPayload): void {
    this.fanOut('afterDatasetDeleted', payload.requestId, (h) => h.afterDatasetDeleted?.(payload));
  }

  /** Runs every bulk-publish hook in order; the first failure stops the run and is rethrown. */
  async bulkPublish(payload: BulkPublishPayload): Promise<void> {
    for (const hook of this.hooks) await hook.bulkPublish?.(payload);
  }

  /** After-commit hooks run sequentially in the background; one failing does not stop the next. */
  private fanOut(kind: string, requestId: string, call: (h: SyncHooks) => Promise<void> | undefined): void {
    const relevant = this.hooks.filter((h) => h[kind as keyof SyncHooks] !== undefined);
    if (relevant.length === 0) return;
    void (async () => {
      for (const hook of relevant) {
        try {
          await call(hook);
        } catch (err) {
          this.logger.error({ requestId, err }, `[${hook.name}.${kind}] ${String(err)}`);
        }
      }
    })();
  }
}
