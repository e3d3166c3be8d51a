import type { Logger } from '../logger.js';
import type { StorageUnavailableError } from '../storage/unavailable.js';

/** At most one line per this interval says the database is unavailable; an outage fails every request alike. */
export const UNAVAILABLE_LOG_INTERVAL_MS = 10_000;

interface OutageLog {
  loggedAt: number;
  /** Requests that failed the same way since the last line. */
  unlogged: number;
  /** Set while some are unlogged: writes their count one interval after the last line. */
  flush: NodeJS.Timeout | undefined;
}

const outageLogs = new WeakMap<Logger, OutageLog>();

/**
 * Logs a request that failed for want of the database: the first with its error, then one line per interval
 * counting the requests that failed the same way meanwhile (without their ids, which the client still gets). The
 * count of the interval in which the outage ended is written when that interval ends, though no request fails
 * after it; a process that exits first does not write it.
 */
export function logUnavailable(logger: Logger, requestId: string, err: StorageUnavailableError): void {
  const now = Date.now();
  const state = outageLogs.get(logger);
  if (state && now - state.loggedAt < UNAVAILABLE_LOG_INTERVAL_MS) {
    state.unlogged++;
    state.flush ??= setTimeout(() => logUnlogged(logger, state), state.loggedAt + UNAVAILABLE_LOG_INTERVAL_MS - now).unref();
    return;
  }
  if (state?.flush) clearTimeout(state.flush);
  outageLogs.set(logger, { loggedAt: now, unlogged: 0, flush: undefined });
  logger.error(
    { requestId, err, unloggedSinceLast: state?.unlogged ?? 0 },
    `the database is unavailable; requests fail with 500 until it is back (one such line per ${UNAVAILABLE_LOG_INTERVAL_MS / 1000} s at most)`,
  );
}

function logUnlogged(logger: Logger, state: OutageLog): void {
  state.flush = undefined;
  if (state.unlogged === 0) return;
  logger.error(
    { unloggedSinceLast: state.unlogged },
    `requests failed for want of the database since the last such line: ${state.unlogged}`,
  );
  state.loggedAt = Date.now();
  state.unlogged = 0;
}
