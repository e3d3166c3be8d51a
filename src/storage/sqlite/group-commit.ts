// Group commit for the SQLite adapter: writeRecords commands of one event-loop turn share one transaction.
import type { Database } from './driver.js';
import type { CurrentRecord, DatasetWriteState, WriteCommand, WritePlan } from '../types.js';
import { DATASET_COLUMNS, IDENTITY_COLUMNS, datasetAt, identityAt, type Value } from './rows.js';
import type { Statements } from './statements.js';
import { BUSY_TIMEOUT_MS, LOCK_SPIN_MS, tryWithoutWaiting } from './write-lock.js';

/** Where writeStateOneKey's record columns start: after the identity, the dataset, the live count and `consumed`. */
const STATE_COLUMNS = IDENTITY_COLUMNS + DATASET_COLUMNS + 2;
/** Most writeRecords commands committed in one transaction; the rest of the queue follows in the next. */
const MAX_BATCH = 256;
export { BUSY_TIMEOUT_MS } from './write-lock.js';

interface PendingWrite {
  readonly command: WriteCommand;
  readonly plan: (state: DatasetWriteState) => WritePlan;
  readonly resolve: (result: WritePlan) => void;
  readonly reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: WritePlan } | { ok: false; error: unknown };

/**
 * Queues writeRecords commands and commits them in batches: ONE write transaction (one fsync) per batch. Commands
 * run in arrival order, so a command sees the effects of every earlier one, committed or in the same batch.
 * Promises settle only after COMMIT: nothing is acknowledged before it is durable.
 *
 * A throwing plan (a conflict, a limit) fails only its own command, and writes nothing since it throws before its
 * command writes. Should the database fail one command's writes, the batch goes back to its start and runs again
 * with each command in a savepoint of its own, so that failure undoes that command only. Savepoints cost two
 * statements per command, which is why the common case goes without them.
 */
export function createGroupCommit(
  db: Database, s: Statements,
  options: {
    ownsWriteLock: boolean;
    /** Runs after each COMMIT, before any of the batch is acknowledged; a throw fails the whole batch. */
    afterCommit?: () => void;
  },
) {
  let queue: PendingWrite[] = [];
  let scheduled = false;
  /** When the queued batch first found another process holding the write lock. */
  let lockWaitSince: number | undefined;

  /** Commits the queue now, waiting (blocking) for the write lock: for close() and the identity links. */
  function flush(): void {
    lockWaitSince = undefined;
    while (queue.length > 0) commitQueue(() => s.begin.run());
  }

  /**
   * The scheduled commit. When another process (a `--workers` sibling, or any other SQLite client) holds the
   * write lock, SQLite's busy handler would sleep on this thread and stall every request of this process; instead
   * the batch stays queued, keeps growing, and the lock is tried again (each turn of the event loop for LOCK_SPIN_MS,
   * then every millisecond), up to BUSY_TIMEOUT_MS.
   */
  function flushWhenLockFree(): void {
    scheduled = false;
    if (queue.length === 0) {
      lockWaitSince = undefined; // a blocking flush() took the queue meanwhile
      return;
    }
    const began = tryBeginWithoutWaiting();
    if (!began) {
      const now = performance.now();
      lockWaitSince ??= now;
      const waited = now - lockWaitSince;
      if (waited < BUSY_TIMEOUT_MS) {
        scheduled = true;
        if (waited < LOCK_SPIN_MS) setImmediate(flushWhenLockFree);
        else setTimeout(flushWhenLockFree, 1);
        return;
      }
    }
    lockWaitSince = undefined;
    commitQueue(() => {
      if (!began) throw new Error(`database is locked: no write lock within ${BUSY_TIMEOUT_MS} ms`);
    });
  }

  function tryBeginWithoutWaiting(): boolean {
    // A connection that owns the write lock (exclusive locking, or a private in-memory database) cannot wait for
    // it: BEGIN alone, without the two PRAGMA compilations around it.
    if (options.ownsWriteLock) {
      s.begin.run();
      return true;
    }
    return tryWithoutWaiting(db, () => s.begin.run()) !== undefined;
  }

  function commitQueue(begin: () => void): void {
    const batch = queue.splice(0, MAX_BATCH);
    if (queue.length > 0 && !scheduled) {
      scheduled = true;
      setImmediate(flushWhenLockFree);
    }
    let outcomes: Outcome[];
    try {
      begin();
      outcomes = runBatch(batch);
      s.commit.run();
      options.afterCommit?.();
    } catch (error) {
      // Outside a savepoint (BEGIN, COMMIT, a failed ROLLBACK TO): the whole batch is lost; reject all of it.
      if (db.inTransaction) s.rollback.run();
      for (const w of batch) w.reject(error);
      return;
    }
    batch.forEach((w, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) w.resolve(outcome.value);
      else w.reject(outcome.error);
    });
  }

  function runBatch(batch: readonly PendingWrite[]): Outcome[] {
    s.savepointBatch.run();
    try {
      return batch.map(runCommand);
    } catch (error) {
      // Out of a command's reads or writes, not its plan. If SQLite rolled the transaction back by itself (e.g.
      // disk full), nothing can be kept: the caller fails the whole batch.
      if (!db.inTransaction) throw error;
      s.rollbackToBatch.run();
      return batch.map(runInSavepoint);
    }
  }

  /** Reads the command's state, plans, writes; a throwing plan is its outcome, any other failure is thrown. */
  function runCommand(w: PendingWrite): Outcome {
    const state = readWriteState(s, w.command);
    let plan: WritePlan;
    try {
      plan = w.plan(state);
    } catch (error) {
      return { ok: false, error };
    }
    applyPlan(s, w.command, plan);
    s.consumeSession.run(w.command.sessionExpiresAt, w.command.sessionId);
    return { ok: true, value: plan };
  }

  function runInSavepoint(w: PendingWrite): Outcome {
    s.savepoint.run();
    try {
      const outcome = runCommand(w);
      s.release.run();
      return outcome;
    } catch (error) {
      // If SQLite already rolled the whole transaction back (e.g. disk full), ROLLBACK TO throws: the outer
      // handler then fails the batch, which is right since earlier commands' writes are gone too.
      if (!db.inTransaction) throw error;
      s.rollbackTo.run();
      s.release.run();
      return { ok: false, error };
    }
  }

  return {
    flush,
    enqueue<T extends WritePlan>(command: WriteCommand, plan: (state: DatasetWriteState) => T): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ command, plan, resolve: (r) => resolve(r as T), reject });
        if (!scheduled) {
          scheduled = true;
          // After the current I/O phase: every request parsed in it joins this batch.
          setImmediate(flushWhenLockFree);
        }
      });
    },
  };
}

function readWriteState(s: Statements, c: WriteCommand): DatasetWriteState {
  const currentRecords = new Map<string, CurrentRecord>();
  let row: Value[];
  if (c.keys.length === 1) {
    row = s.writeStateOneKey.get(
      c.identityId, c.sessionExpiresAt, c.sessionId, c.identityId, c.identityId, c.datasetName,
      c.identityId, c.datasetName, c.keys[0]!,
    )!;
    const key = row[STATE_COLUMNS];
    // NULL when the key has no row yet (a LEFT JOIN).
    if (key !== null) currentRecords.set(key as string, currentRecordAt(row, STATE_COLUMNS));
  } else {
    row = s.writeState.get(c.identityId, c.sessionExpiresAt, c.sessionId, c.identityId, c.identityId, c.datasetName)!;
    const keys = s.currentRecords.all(c.identityId, c.datasetName, JSON.stringify(c.keys));
    for (const record of keys) currentRecords.set(record[0], currentRecordAt(record, 0));
  }
  return {
    identity: identityAt(row, 0),
    dataset: datasetAt(row, IDENTITY_COLUMNS),
    currentRecords,
    liveDatasetCount: row[IDENTITY_COLUMNS + DATASET_COLUMNS] as number,
    sessionConsumed: row[IDENTITY_COLUMNS + DATASET_COLUMNS + 1] === 1,
  };
}

function applyPlan(s: Statements, c: WriteCommand, plan: WritePlan): void {
  const d = plan.dataset;
  if (!d) return;
  if (d.identityId !== c.identityId || d.datasetName !== c.datasetName) {
    throw new Error(`write plan for ${d.identityId}/${d.datasetName} does not match ${c.identityId}/${c.datasetName}`);
  }
  s.upsertDataset.run(
    d.identityId, d.datasetName, c.identityPoolId, d.syncCount, d.deleted ? 1 : 0, d.lastDeletedAtSyncCount,
    d.createdAt, d.lastModifiedAt, d.lastModifiedBy, d.numRecords, d.dataStorage, d.mergeParent,
  );
  for (const r of plan.records) {
    s.upsertRecord.run(
      c.identityId, c.datasetName, r.key, r.value, r.syncCount, r.lastModifiedAt, r.lastModifiedBy,
      r.deviceLastModifiedAt,
    );
  }
}

/** The columns of statements.ts's `currentRecord` (key, sync count, live, bytes), starting at `at`. */
function currentRecordAt(row: readonly Value[], at: number): CurrentRecord {
  return { syncCount: row[at + 1] as number, live: row[at + 2] === 1, bytes: row[at + 3] as number };
}
