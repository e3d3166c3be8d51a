import { errors, ServiceError } from '../api/errors.js';
import type { Clock } from '../api/operation.js';
import type { Principal } from '../auth/principal.js';
import type { Config } from '../config.js';
import { checkConflicts, type Patch } from '../domain/update-plan.js';
import { INVALID_SESSION_MESSAGE } from '../domain/sync-session.js';
import type { Logger } from '../logger.js';
import type { SyncStore } from '../storage/store.js';
import type { ConsumedSessionKey, DatasetWriteState, RecordRow } from '../storage/types.js';
import { checkSyncTriggerConfig } from './config.js';
import { applyTriggerOutput, buildEvent, InvalidTriggerOutput, type DatasetSnapshot } from './event.js';
import { TriggerFailed, type TriggerInvoker } from './invoker.js';
import { LambdaInvokers } from './lambda-invoker.js';
import { ModuleInvokers } from './module-invoker.js';
import { parseTriggerTarget, type TriggerTarget } from './target.js';
import { WebhookInvokers } from './webhook-invoker.js';

/** The event type SetCognitoEvents configures triggers under. */
export const SYNC_TRIGGER = 'SyncTrigger';
const SNAPSHOT_PAGE = 1000;

export interface TriggerRequest {
  readonly principal: Principal;
  readonly requestId: string;
  readonly identityPoolId: string;
  readonly identityId: string;
  readonly datasetName: string;
  /** The request's sync session (its token was verified). */
  readonly session: ConsumedSessionKey;
  readonly patches: readonly Patch[];
  /** True once the client's connection has closed (the HTTP edge knows; absent elsewhere). */
  readonly clientGone?: (() => boolean) | undefined;
}

/** An UpdateRecords the pool's Sync Trigger has approved, ready for the commit. */
export interface TriggeredWrite {
  /** What to commit: the trigger's answer applied to the request's patches. */
  readonly patches: Patch[];
  /**
   * Runs inside the commit, before the plan: 409 ResourceConflictException when the dataset moved since the event
   * was built (a write from another instance, or from developer credentials), since the trigger decided on a
   * dataset that is no longer there. Nothing is written then and the session stays usable.
   */
  guard(state: DatasetWriteState): void;
  /** Ends this request's turn on the dataset; call once the commit has settled, whatever its outcome. */
  release(): void;
}

/**
 * Sync Triggers (SPEC §7; docs/sync-triggers.md). For an UpdateRecords made with identity credentials in a pool
 * whose `SyncTrigger` is set, `prepare` reads the whole dataset, checks the session and the patches' counts (so a
 * stale write never reaches the trigger), calls the trigger outside any transaction, and turns its answer into the
 * patches to commit. Requests on one dataset take turns on this instance from the read to the commit, so each
 * trigger decides on the dataset its answer is applied to; different datasets run in parallel.
 *
 * Failures, with nothing written and the session left usable: the function fails or breaks the output rules →
 * InvalidLambdaFunctionOutputException; the target answers 429 or is unavailable for now (webhook 502/503, Lambda's
 * passing failures), or --sync-trigger-concurrency calls are already in flight, or earlier writes to the dataset kept
 * it waiting longer than the trigger timeout → LambdaThrottledException; no answer within --sync-trigger-timeout-ms,
 * or a webhook's 504 → LambdaSocketTimeoutException.
 */
export class SyncTriggers {
  private readonly config: Config;
  private readonly lambda: LambdaInvokers;
  private readonly modules: ModuleInvokers;
  private readonly webhooks: WebhookInvokers;
  private readonly turns = new Map<string, Promise<void>>();
  private inFlight = 0;

  constructor(private readonly deps: { config: Config; store: SyncStore; clock: Clock; logger: Logger }) {
    this.config = deps.config;
    checkSyncTriggerConfig(this.config.syncTriggers);
    this.lambda = new LambdaInvokers(this.config.syncTriggers.lambda);
    this.modules = new ModuleInvokers(this.config.syncTriggers.modules);
    this.webhooks = new WebhookInvokers(this.config.syncTriggers.webhook.signingSecret ?? '', () => deps.clock.now());
  }

  /** Trigger calls in flight on this instance now. */
  get callsInFlight(): number {
    return this.inFlight;
  }

  /** Why SetCognitoEvents must refuse `value` as a SyncTrigger, or undefined when this server can call it. */
  refuse(value: string): string | undefined {
    const target = parseTriggerTarget(value, this.config.syncTriggers);
    return 'error' in target ? target.error : undefined;
  }

  /** undefined when no trigger applies: developer credentials, or a pool without a SyncTrigger. */
  async prepare(req: TriggerRequest): Promise<TriggeredWrite | undefined> {
    if (req.principal.kind !== 'identity') return undefined;
    const { store } = this.deps;
    const value = (await store.getPoolSyncSettings(req.identityPoolId)).events[SYNC_TRIGGER];
    if (value === undefined || value === '') return undefined;

    const release = await this.turn(`${req.identityId}\u0000${req.datasetName}`, this.config.syncTriggers.timeoutMs);
    try {
      const snapshot = await this.snapshot(req.identityId, req.datasetName);
      if (await store.isSessionConsumed(req.identityId, req.session)) throw errors.invalidParameter(INVALID_SESSION_MESSAGE);
      checkConflicts(req.patches, (key) => snapshot.records.get(key)?.syncCount);
      const event = buildEvent({ region: this.config.region, ...req }, snapshot, req.patches);
      const output = await this.call(value, JSON.stringify(event), req);
      let patches: Patch[];
      try {
        patches = applyTriggerOutput(event, output, req.patches, snapshot, this.config.limits.maxRecordsPerDataset);
      } catch (err) {
        if (!(err instanceof InvalidTriggerOutput)) throw err;
        this.deps.logger.warn({ requestId: req.requestId, identityPoolId: req.identityPoolId }, `[SyncTrigger] invalid output: ${err.message}`);
        throw errors.invalidLambdaFunctionOutput(`The Sync Trigger returned invalid output: ${err.message}`);
      }
      const before = snapshot.dataset;
      return {
        patches,
        guard: (state) => {
          // A write that waited for its turn and its trigger may outlast its client's patience, or the server's
          // idle timeout: a client cut off was told nothing, and syncs again, so nothing is committed for it.
          if (req.clientGone?.()) {
            throw errors.lambdaThrottled('The client closed its connection while the Sync Trigger ran; nothing was written');
          }
          const now = state.dataset;
          if (now?.syncCount !== before?.syncCount || (now?.deleted ?? false) !== (before?.deleted ?? false)) {
            throw errors.conflict(
              `Dataset ${req.datasetName} changed while its Sync Trigger ran (DatasetSyncCount is: ${now?.syncCount ?? 0} not: ${before?.syncCount ?? 0}); call ListRecords and synchronize again`,
            );
          }
        },
        release,
      };
    } catch (err) {
      release();
      throw err;
    }
  }

  async close(): Promise<void> {
    this.lambda.close();
    this.webhooks.close();
  }

  /** The dataset row and every record and tombstone, paged through. */
  private async snapshot(identityId: string, datasetName: string): Promise<DatasetSnapshot> {
    const { store } = this.deps;
    const dataset = await store.getDataset(identityId, datasetName);
    const records = new Map<string, RecordRow>();
    if (dataset && !dataset.deleted) {
      const range = { sinceSyncCount: 0, upToSyncCount: dataset.syncCount };
      let after: { syncCount: number; key: string } | undefined;
      for (;;) {
        const page = await store.listRecords(identityId, datasetName, range, { after, limit: SNAPSHOT_PAGE });
        for (const row of page) records.set(row.key, row);
        const last = page.at(-1);
        if (page.length < SNAPSHOT_PAGE || !last) break;
        after = { syncCount: last.syncCount, key: last.key };
      }
    }
    return { dataset, records };
  }

  /**
   * One call of the trigger under the concurrency limit and the timeout. Every failure becomes the API error its
   * kind maps to; the detail goes to the log only.
   */
  private async call(value: string, body: string, req: TriggerRequest): Promise<unknown> {
    const { logger } = this.deps;
    const { timeoutMs, concurrency } = this.config.syncTriggers;
    const log = { requestId: req.requestId, identityPoolId: req.identityPoolId };
    const target = parseTriggerTarget(value, this.config.syncTriggers);
    if ('error' in target) {
      // Stored earlier, and this server's configuration no longer allows it.
      logger.warn(log, `[SyncTrigger] not callable: ${target.error}`);
      throw errors.invalidLambdaFunctionOutput('The Sync Trigger is not callable on this server; ask the app developer to check it');
    }
    if (concurrency > 0 && this.inFlight >= concurrency) {
      logger.warn(log, `[SyncTrigger] ${this.inFlight} calls in flight; throttled`);
      throw errors.lambdaThrottled('The Sync Trigger was throttled; try the sync operation again');
    }
    this.inFlight++;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      const invoked = this.invoker(target).invoke({ body, requestId: req.requestId, signal: controller.signal });
      // A module call cannot be stopped: stop waiting for it. Its late outcome is dropped.
      invoked.catch(() => {});
      return await Promise.race([invoked, whenAborted(controller.signal)]);
    } catch (err) {
      if (controller.signal.aborted) {
        logger.warn({ ...log, kind: target.kind }, `[SyncTrigger] no answer within ${timeoutMs} ms`);
        throw errors.lambdaSocketTimeout(`The Sync Trigger did not answer within ${timeoutMs} ms; nothing was written, try the sync operation again`);
      }
      if (err instanceof TriggerFailed) {
        logger.warn({ ...log, kind: target.kind, detail: describe(err.detail) }, `[SyncTrigger] ${err.message}`);
        if (err.kind === 'throttled') throw errors.lambdaThrottled('The Sync Trigger was throttled; try the sync operation again');
        if (err.kind === 'timeout') {
          throw errors.lambdaSocketTimeout('The Sync Trigger timed out; nothing was written, try the sync operation again');
        }
        throw errors.invalidLambdaFunctionOutput(`The Sync Trigger failed: ${err.message}`);
      }
      if (err instanceof ServiceError) throw err;
      logger.error({ ...log, kind: target.kind, err }, '[SyncTrigger] unexpected failure');
      throw errors.invalidLambdaFunctionOutput('The Sync Trigger failed');
    } finally {
      clearTimeout(timer);
      this.inFlight--;
    }
  }

  private invoker(target: TriggerTarget): TriggerInvoker {
    switch (target.kind) {
      case 'lambda': return this.lambda.forFunction(target.arn, target.region);
      case 'module': return this.modules.forModule(target.name);
      case 'webhook': return this.webhooks.forUrl(target.url);
    }
  }

  /**
   * Waits for this instance's earlier requests on the same dataset to commit (or fail), then returns the function
   * that lets the next one go. Calling it twice is harmless. A request that waits longer than `maxWaitMs` (the
   * trigger timeout) gives up its place with LambdaThrottledException, which the SDKs retry: without a bound, writes
   * queued behind a slow trigger would wait past their clients' timeouts and then commit, unseen by a client that
   * was told the call failed.
   */
  private async turn(key: string, maxWaitMs: number): Promise<() => void> {
    const previous = this.turns.get(key) ?? Promise.resolve();
    let open = () => {};
    const mine = new Promise<void>((resolve) => { open = resolve; });
    const tail = previous.then(() => mine);
    this.turns.set(key, tail);
    let done = false;
    const release = () => {
      if (done) return;
      done = true;
      open();
      if (this.turns.get(key) === tail) this.turns.delete(key);
    };
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<true>((resolve) => { timer = setTimeout(() => resolve(true), maxWaitMs); });
    const late = await Promise.race([previous.then(() => false), gaveUp]);
    clearTimeout(timer);
    if (late) {
      // Those queued behind this request wait for the earlier ones only.
      void previous.then(release);
      throw errors.lambdaThrottled(
        `Earlier writes to this dataset are still waiting for its Sync Trigger; try the sync operation again`);
    }
    return release;
  }
}

function whenAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
  });
}

function describe(detail: unknown): unknown {
  if (detail instanceof Error) return `${detail.name}: ${detail.message}`;
  return detail;
}
