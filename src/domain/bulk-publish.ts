import { errors } from '../api/errors.js';
import type { BulkPublishState, PoolSyncSettings } from '../storage/types.js';

/** One successful bulk publish per 24 hours (not adjustable at AWS). */
export const BULK_PUBLISH_INTERVAL_MS = 24 * 60 * 60 * 1000;

/**
 * How long a running bulk publish is vouched for without news from the server running it. That server renews the
 * lease every third of it; when the server stops (a crash, a restart, a lost instance of several) the lease runs out
 * and the run counts as FAILED, so that the pool can publish again instead of answering DuplicateRequestException
 * for ever.
 */
export const BULK_PUBLISH_LEASE_MS = 60_000;

export const INTERRUPTED_MESSAGE =
  'The bulk publish was interrupted: the server running it stopped before it finished. Start it again.';

/** The state as every caller should see it at `now`: an IN_PROGRESS run whose lease ran out has FAILED. */
export function bulkPublishAt(state: BulkPublishState, now: number): BulkPublishState {
  if (state.status !== 'IN_PROGRESS') return state;
  // A state stored without a lease is read as leased from its start.
  const leaseUntil = state.leaseUntil ?? (state.startedAt ?? 0) + BULK_PUBLISH_LEASE_MS;
  if (now <= leaseUntil) return state;
  return { status: 'FAILED', startedAt: state.startedAt, completedAt: null, failureMessage: INTERRUPTED_MESSAGE };
}

/**
 * The settings with a new run started at `now`. Needs streaming ENABLED; refused while another run is in progress
 * (DuplicateRequestException) and within 24 hours of a success (AlreadyStreamedException).
 */
export function startBulkPublish(
  identityPoolId: string, current: PoolSyncSettings, now: number, leaseMs = BULK_PUBLISH_LEASE_MS,
): PoolSyncSettings {
  if (current.cognitoStreams?.streamingStatus !== 'ENABLED') {
    throw errors.invalidParameter(
      `Cognito Streams is not enabled for identity pool ${identityPoolId}; enable it with SetIdentityPoolConfiguration first`);
  }
  const { status, completedAt } = bulkPublishAt(current.bulkPublish, now);
  if (status === 'IN_PROGRESS') {
    throw errors.duplicateRequest(`A bulk publish is already in progress for identity pool ${identityPoolId}`);
  }
  if (status === 'SUCCEEDED' && completedAt !== null && now - completedAt < BULK_PUBLISH_INTERVAL_MS) {
    const next = new Date(completedAt + BULK_PUBLISH_INTERVAL_MS).toISOString();
    throw errors.alreadyStreamed(
      `A bulk publish of identity pool ${identityPoolId} succeeded less than 24 hours ago; the next may start at ${next}`);
  }
  const bulkPublish: BulkPublishState = {
    status: 'IN_PROGRESS', startedAt: now, completedAt: null, failureMessage: null, leaseUntil: now + leaseMs,
  };
  return { ...current, bulkPublish };
}

/** True while `state` is the run started at `startedAt`, still in progress and leased at `now`. */
function isLiveRun(state: BulkPublishState, startedAt: number, now: number): boolean {
  return state.startedAt === startedAt && bulkPublishAt(state, now).status === 'IN_PROGRESS';
}

/** The run's lease, renewed at `now` for `leaseMs`; the state unchanged when it is no longer that live run. */
export function renewBulkPublishLease(
  state: BulkPublishState, startedAt: number, now: number, leaseMs = BULK_PUBLISH_LEASE_MS,
): BulkPublishState {
  return isLiveRun(state, startedAt, now) ? { ...state, leaseUntil: now + leaseMs } : state;
}

/**
 * The run's outcome at `now`: SUCCEEDED, or FAILED with `failure`. The state unchanged when it is no longer that live
 * run: a run whose lease ran out was reported FAILED, and a newer run may have started since.
 */
export function finishBulkPublish(
  state: BulkPublishState, startedAt: number, now: number, failure: string | null,
): BulkPublishState {
  if (!isLiveRun(state, startedAt, now)) return state;
  return failure === null
    ? { status: 'SUCCEEDED', startedAt, completedAt: now, failureMessage: null }
    : { status: 'FAILED', startedAt, completedAt: null, failureMessage: failure };
}
