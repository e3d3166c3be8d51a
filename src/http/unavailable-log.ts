/**
 * The log of requests that fail for want of the database (StorageUnavailableError): during an outage every request
 * fails alike, so one line per interval stands for them all, each written by a failing request with its cause.
 */
import type { Logger } from '../logger.js';
import type { StorageUnavailableError } from '../storage/unavailable.js';

/** At most one line per this interval says the database is unavailable; an outage fails every request alike. */
export const UNAVAILABLE_LOG_INTERVAL_MS = 10_000;

interface OutageLog {
  /** When the last full line (a failure with its cause) was written. */
  readonly loggedAt: number;
  /** Requests that failed the same way since that line. */
  unlogged: number;
  /** Set while some are unlogged: writes their count should no failure write the next full line. */
  flush: NodeJS.Timeout | undefined;
}

const outageLogs = new WeakMap<Logger, OutageLog>();

/**
 * Logs a request that failed for want of the database: the first with its error, then, from the first failure
 * an interval or more after the last line, one line with that failure's error (the cause may change during an
 * outage) counting the requests that failed since (without their ids, which the clients still get).
 *
 * The count of the outage's last interval has no failure after it to carry it: it is written on its own once a
 * whole interval has passed without a failure (at most two intervals after the last full line), or by
 * flushUnavailableLog when the server closes.
 */
export function logUnavailable(logger: Logger, requestId: string, err: StorageUnavailableError): void {
  const now = Date.now();
  const state = outageLogs.get(logger);
  if (state && now - state.loggedAt < UNAVAILABLE_LOG_INTERVAL_MS) {
    state.unlogged++;
    // A failure after the interval ends writes a full line and replaces this state: the timer then finds it gone.
    state.flush ??= setTimeout(
      () => { if (outageLogs.get(logger) === state) writeCount(logger, state); },
      state.loggedAt + 2 * UNAVAILABLE_LOG_INTERVAL_MS - now,
    ).unref();
    return;
  }
  if (state?.flush) clearTimeout(state.flush);
  outageLogs.set(logger, { loggedAt: now, unlogged: 0, flush: undefined });
  logger.error(
    { requestId, err, unloggedSinceLast: state?.unlogged ?? 0 },
    `the database is unavailable; requests fail with 500 until it is back (one such line per ${UNAVAILABLE_LOG_INTERVAL_MS / 1000} s at most)`,
  );
}

/** Writes the count of failures no line has counted yet, if any (the server calls it as it closes). */
export function flushUnavailableLog(logger: Logger): void {
  const state = outageLogs.get(logger);
  if (state) writeCount(logger, state);
}

function writeCount(logger: Logger, state: OutageLog): void {
  if (state.flush) clearTimeout(state.flush);
  state.flush = undefined;
  if (state.unlogged === 0) return;
  logger.error(
    { unloggedSinceLast: state.unlogged },
    `requests failed for want of the database since the last such line: ${state.unlogged}`,
  );
  state.unlogged = 0;
}
