import { describe, expect, it } from 'vitest';
import { checkDataset, type Ack, type DatasetHistory, type FinalState, type Patch } from './postgres-checker-history.js';

/**
 * The checker of postgres-checker.test.ts on hand-made histories: it accepts serial ones (deletions included) and
 * names each kind of fault the multi-instance run is meant to catch. Times are logical: one call per pair of ticks.
 */
const put = (key: string, value: string, expected: number): Patch => ({ op: 'replace', key, value, expected });
const ack = (syncCount: number, patches: Patch[], start = syncCount * 10): Ack => ({ start, end: start + 1, syncCount, patches });
const live = (records: [string, string | null, number][], syncCount: number): FinalState => ({
  exists: true, syncCount, records: records.map(([key, value, c]) => ({ key, value, syncCount: c })),
});
const history = (h: Partial<DatasetHistory>): DatasetHistory => ({ acks: [], deletions: [], reads: [], ...h });

describe('the history checker', () => {
  const serial = [ack(1, [put('a', '1', 0)]), ack(2, [put('b', '2', 0)]), ack(3, [put('a', '3', 1)])];

  it('accepts a serial history and its final state', () => {
    expect(checkDataset('d', history({ acks: serial }), live([['a', '3', 3], ['b', '2', 2]], 3))).toEqual([]);
  });

  it('places a deletion where the writes after it expect an empty dataset', () => {
    const acks = [ack(1, [put('a', '1', 0)]), ack(2, [put('a', '2', 1)]), ack(3, [put('a', 'again', 0)], 40)];
    const deletions = [{ start: 25, end: 35 }];
    expect(checkDataset('d', history({ acks, deletions }), live([['a', 'again', 3]], 3))).toEqual([]);
    // Without the deletion, write 3's expectation (a at 0) cannot be explained.
    expect(checkDataset('d', history({ acks }), live([['a', 'again', 3]], 3))[0]).toMatch(/write 3 expected a at 0/);
  });

  it('finds a lost write: the final state lacks it', () => {
    expect(checkDataset('d', history({ acks: serial }), live([['a', '3', 3]], 3))[0]).toMatch(/final state/);
  });

  it('finds a repeated and a skipped sync count', () => {
    expect(checkDataset('d', history({ acks: [...serial, ack(3, [put('c', 'x', 0)])] }), live([], 3))[0]).toMatch(/count 3 was acknowledged twice/);
    expect(checkDataset('d', history({ acks: [serial[0]!, serial[2]!] }), live([], 3))[0]).toMatch(/count 2 was skipped/);
  });

  it('finds a write that did not see the one before it (a lost update)', () => {
    const acks = [ack(1, [put('a', '1', 0)]), ack(2, [put('a', '2', 0)])];
    expect(checkDataset('d', history({ acks }), live([['a', '2', 2]], 2))[0]).toMatch(/write 2 expected a at 0, the replay has it at 1/);
  });

  it('finds a stale read and a read of a state that never was', () => {
    const stale = { start: 100, end: 101, exists: true, syncCount: 2, records: [] };
    expect(checkDataset('d', history({ acks: serial, reads: [stale] }), live([['a', '3', 3], ['b', '2', 2]], 3))[0])
      .toMatch(/read at count 2 was sent after the ack of count 3/);
    const wrong = { start: 5, end: 100, exists: true, syncCount: 2, records: [{ key: 'a', value: 'other', syncCount: 1 }] };
    expect(checkDataset('d', history({ acks: serial, reads: [wrong] }), live([['a', '3', 3], ['b', '2', 2]], 3))[0])
      .toMatch(/read at 2 listed/);
  });

  it('finds writes acknowledged out of the order clients saw them', () => {
    const acks = [ack(1, [put('a', '1', 0)], 50), ack(2, [put('b', '2', 0)], 10)];
    expect(checkDataset('d', history({ acks }), live([['a', '1', 1], ['b', '2', 2]], 2))[0]).toMatch(/sent after the ack of count 2/);
  });
});
