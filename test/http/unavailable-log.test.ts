/**
 * The log of requests that fail for want of the database (src/http/unavailable-log.ts): one line with its cause, then
 * at most one per interval, each written by a failing request with its own cause and counting the failures since;
 * the count of the outage's last interval is written once an interval passes without a failure, or at close.
 */
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { UNAVAILABLE_LOG_INTERVAL_MS, flushUnavailableLog, logUnavailable } from '../../src/http/unavailable-log.js';
import { StorageUnavailableError } from '../../src/storage/unavailable.js';

interface Line { msg: string; requestId?: string; err?: { message: string }; unloggedSinceLast: number }

describe('the database-unavailable log', () => {
  let lines: Line[];
  let logger: pino.Logger;
  const fail = (requestId: string, cause = 'ECONNREFUSED') =>
    logUnavailable(logger, requestId, new StorageUnavailableError(`could not connect: ${cause}`, { cause: new Error(cause) }));

  beforeEach(() => {
    vi.useFakeTimers();
    lines = [];
    logger = pino({ level: 'error' }, { write: (line: string) => void lines.push(JSON.parse(line) as Line) });
  });
  afterEach(() => vi.useRealTimers());

  it('writes the first failure, counts the others, and writes the count of the last interval once it is over', () => {
    fail('r1');
    for (let i = 2; i <= 5; i++) fail(`r${i}`);
    expect(lines).toEqual([expect.objectContaining({ requestId: 'r1', unloggedSinceLast: 0 })]);

    // The outage ends: no request fails any more, and the four counted ones are still written, without a cause.
    vi.advanceTimersByTime(2 * UNAVAILABLE_LOG_INTERVAL_MS);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ unloggedSinceLast: 4 });
    expect(lines[1]!.requestId).toBeUndefined();

    // Nothing more to count: no further line.
    vi.advanceTimersByTime(3 * UNAVAILABLE_LOG_INTERVAL_MS);
    expect(lines).toHaveLength(2);
  });

  it('during a long outage each line is a failure with its own cause, counting the failures since the last', () => {
    for (let second = 0; second < 25; second++) {
      const cause = second < 15 ? 'ECONNREFUSED' : 'password authentication failed';
      fail(`r${second}`, cause);
      fail(`r${second}b`, cause);
      vi.advanceTimersByTime(1000);
    }
    vi.advanceTimersByTime(2 * UNAVAILABLE_LOG_INTERVAL_MS);
    expect(lines.map((l) => l.unloggedSinceLast)).toEqual([0, 19, 19, 9]);
    expect(lines.map((l) => l.requestId)).toEqual(['r0', 'r10', 'r20', undefined]);
    // The cause changed meanwhile: the line after the change names the new one.
    expect(lines[2]!.err?.message).toMatch(/password authentication failed/);
    // The full lines are failures of their own; the others are counted once.
    expect(lines.filter((l) => l.requestId).length + lines.reduce((sum, l) => sum + l.unloggedSinceLast, 0)).toBe(50);
  });

  it('a second outage after a short recovery is written with its own cause', () => {
    fail('a1', 'ECONNREFUSED');
    fail('a2', 'ECONNREFUSED');
    vi.advanceTimersByTime(UNAVAILABLE_LOG_INTERVAL_MS + 5000);
    fail('b1', 'too many connections for role');
    expect(lines.map((l) => [l.requestId, l.unloggedSinceLast])).toEqual([['a1', 0], ['b1', 1]]);
    expect(lines[1]!.err?.message).toMatch(/too many connections/);
  });

  it('what is still uncounted when the server closes is written then', () => {
    fail('r1');
    fail('r2');
    fail('r3');
    flushUnavailableLog(logger);
    expect(lines.map((l) => l.unloggedSinceLast)).toEqual([0, 2]);
    vi.advanceTimersByTime(3 * UNAVAILABLE_LOG_INTERVAL_MS);
    flushUnavailableLog(logger);
    expect(lines).toHaveLength(2);
  });
});
