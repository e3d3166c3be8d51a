import type { DatasetWriteState, WriteCommand, WritePlan } from '../types.js';
import { BEGIN, COMMIT, isSqlError, type Db, type Statement } from './pool.js';
import { toWriteState, type WriteStateDb } from './rows.js';
import { applyPlans, lockIdentities, readWriteStates } from './write-statements.js';

/**
 * The batch's statements are planned for their actual arrays and tables every time. PostgreSQL would otherwise
 * switch a named statement to its generic plan after five runs: one plan per connection, made with a guess of the
 * arrays' sizes and the table sizes of that moment, which it keeps as the tables grow (seq scans of
 * consumed_sessions, say). In the bench that made the database spend about 630 µs of CPU per write against about
 * 350 µs with a fresh plan per batch, planning included.
 */
const CUSTOM_PLANS: Statement = { text: 'SET LOCAL plan_cache_mode = force_custom_plan' };

/**
 * Group commit for writeRecords on PostgreSQL: concurrent UpdateRecords of different identities share one
 * transaction on one connection, so a batch of N costs the same two round trips (and two socket writes) as one
 * write, where the socket writes and the per-round-trip work were most of the adapter's CPU.
 *
 *   round trip 1: BEGIN, CUSTOM_PLANS, lock every identity (in identity order), read every write state
 *   (write-statements.ts);
 *   (each plan runs in the process; a plan that throws rejects its own command only and writes nothing: its
 *   lock row stays, as any writer's does, unless its pool was deleted meanwhile)
 *   round trip 2: apply every plan that succeeded (one statement), COMMIT.
 *
 * Three statements and a COMMIT whatever the batch's size: the database parses, plans and answers each once.
 *
 * Correctness is the single write's: each identity's state is read after its lock, so every plan sees every
 * earlier commit of that identity. One identity appears at most once per batch (a second command of it waits for
 * the next batch, since its plan must see the first's result). Locks are taken in identity order, as every other
 * multi-identity lock of the adapter is, so batches never deadlock each other (and a deadlock or serialization
 * failure re-runs the batch, plans included, which plans allow). A command is answered only after COMMIT.
 *
 * Scheduling: a batch starts as soon as a command arrives and fewer than `maxInFlight` batches are running;
 * commands arriving meanwhile wait and go together in the next. When a batch of several fails with an error the
 * database reported (the transaction was rolled back, nothing was committed), each of its commands is run again
 * alone, so that one command's failure is its own.
 */
export interface WriteBatcherOptions {
  /** Batches running at once (each on its own connection). */
  readonly maxInFlight: number;
  /** Most commands in one batch. */
  readonly maxBatch: number;
}

interface Pending {
  readonly command: WriteCommand;
  readonly plan: (state: DatasetWriteState) => WritePlan;
  resolve(plan: WritePlan): void;
  reject(error: unknown): void;
}

export function writeBatcher(db: Db, o: WriteBatcherOptions) {
  let queue: Pending[] = [];
  let inFlight = 0;

  /** Takes up to maxBatch commands in arrival order, one per identity; the rest stay queued in order. */
  function takeBatch(): Pending[] {
    const batch: Pending[] = [];
    const identities = new Set<string>();
    const rest: Pending[] = [];
    for (const p of queue) {
      if (batch.length < o.maxBatch && !identities.has(p.command.identityId)) {
        batch.push(p);
        identities.add(p.command.identityId);
      } else {
        rest.push(p);
      }
    }
    queue = rest;
    return batch.sort((x, y) => (x.command.identityId < y.command.identityId ? -1 : x.command.identityId > y.command.identityId ? 1 : 0));
  }

  function pump(): void {
    while (inFlight < o.maxInFlight && queue.length > 0) {
      const batch = takeBatch();
      inFlight++;
      run(batch).finally(() => {
        inFlight--;
        pump();
      });
    }
  }

  async function run(batch: Pending[]): Promise<void> {
    try {
      const outcomes = await commit(batch);
      outcomes.forEach((outcome, i) => (outcome.ok ? batch[i]!.resolve(outcome.plan) : batch[i]!.reject(outcome.error)));
    } catch (error) {
      if (batch.length > 1 && isSqlError(error)) {
        await Promise.all(batch.map((p) => run([p])));
      } else {
        for (const p of batch) p.reject(error);
      }
    }
  }

  type Outcome = { ok: true; plan: WritePlan } | { ok: false; error: unknown };

  /** One transaction for the batch; re-run whole by db.transaction on deadlock, serialization failure or a dead connection. */
  function commit(batch: Pending[]): Promise<Outcome[]> {
    const commands = batch.map((p) => p.command);
    return db.transaction(async (tx) => {
      const [, , , read] = await tx.run([BEGIN, CUSTOM_PLANS, lockIdentities(commands), readWriteStates(commands)]);
      const states = batch.map((_, i) => toWriteState(read!.rows[i] as WriteStateDb));
      const outcomes = batch.map((p, i): Outcome => {
        try {
          return { ok: true, plan: p.plan(states[i]!) };
        } catch (error) {
          return { ok: false, error };
        }
      });
      await tx.run([applyPlans(batch.map((p, i) => {
        const outcome = outcomes[i]!;
        return { command: p.command, plan: outcome.ok ? outcome.plan : undefined, identityFound: states[i]!.identity !== undefined };
      })), COMMIT]);
      return outcomes;
    });
  }

  return <T extends WritePlan>(command: WriteCommand, plan: (state: DatasetWriteState) => T): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      queue.push({ command, plan, resolve: resolve as (plan: WritePlan) => void, reject });
      pump();
    });
}
