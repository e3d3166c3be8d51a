/**
 * The log of requests that fail for want of the database (src/http/unavailable-log.ts): one line, then at most one
 * per interval counting the rest, and the count of the outage's last interval written when it ends.
 */
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { UNAVAILABLE_LOG_INTERVAL_MS, logUnavailable } from '../../src/http/unavailable-log.js';
import { StorageUnavailableError } from '../../src/storage/unavailable.js';

interface Line { msg: string; requestId?: string; unloggedSinceLast: number }

describe('the database-unavailable log', () => {
  let lines: Line[];
  let logger: pino.Logger;
  const fail = (requestId: string) => logUnavailable(logger, requestId, new StorageUnavailableError('connection refused', { cause: new Error('ECONNREFUSED') }));

  beforeEach(() => {
    vi.useFakeTimers();
    lines = [];
    logger = pino({ level: 'error' }, { write: (line: string) => void lines.push(JSON.parse(line) as Line) });
  });
  afterEach(() => vi.useRealTimers());

  it('writes the first failure, counts the others, and writes the count of the last interval when it ends', () => {
    fail('r1');
    for (let i = 2; i <= 5; i++) fail(`r${i}`);
    expect(lines).toEqual([expect.objectContaining({ requestId: 'r1', unloggedSinceLast: 0 })]);

    // The outage ends: no request fails any more, and the four counted ones are still written.
    vi.advanceTimersByTime(UNAVAILABLE_LOG_INTERVAL_MS);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ unloggedSinceLast: 4 });
    expect(lines[1]!.requestId).toBeUndefined();

    // Nothing more to count: no further line.
    vi.advanceTimersByTime(3 * UNAVAILABLE_LOG_INTERVAL_MS);
    expect(lines).toHaveLength(2);
  });

  it('during a long outage writes one line per interval, each counting the failures since the last', () => {
    for (let second = 0; second < 25; second++) {
      fail(`r${second}`);
      fail(`r${second}b`);
      vi.advanceTimersByTime(1000);
    }
    vi.advanceTimersByTime(UNAVAILABLE_LOG_INTERVAL_MS);
    expect(lines.map((l) => l.unloggedSinceLast)).toEqual([0, 19, 20, 10]);
    // The first line is a failure of its own; the others count the rest.
    expect(1 + lines.reduce((sum, l) => sum + l.unloggedSinceLast, 0), 'every failure is counted once').toBe(50);
  });

  it('a failure after a quiet interval is written with its own error and request id', () => {
    fail('first');
    vi.advanceTimersByTime(UNAVAILABLE_LOG_INTERVAL_MS * 2);
    fail('second');
    expect(lines).toEqual([
      expect.objectContaining({ requestId: 'first' }),
      expect.objectContaining({ requestId: 'second', unloggedSinceLast: 0 }),
    ]);
  });
});
