import { describe, expect, it } from 'vitest';
import {
  BULK_PUBLISH_INTERVAL_MS, BULK_PUBLISH_LEASE_MS, INTERRUPTED_MESSAGE, bulkPublishAt, finishBulkPublish,
  renewBulkPublishLease, startBulkPublish,
} from '../../src/domain/bulk-publish.js';
import type { BulkPublishState, PoolSyncSettings } from '../../src/storage/types.js';

const POOL = 'us-east-1:00000000-0000-4000-8000-000000000001';
const T0 = 1_800_000_000_000;

function settings(
  bulkPublish: BulkPublishState, streamingStatus: 'ENABLED' | 'DISABLED' = 'ENABLED',
): PoolSyncSettings {
  return {
    events: {}, pushSync: null, bulkPublish,
    cognitoStreams: { streamName: 's', roleArn: 'arn:aws:iam::123456789012:role/r', streamingStatus },
  };
}
const notStarted: BulkPublishState = { status: 'NOT_STARTED', startedAt: null, completedAt: null, failureMessage: null };
const running = (startedAt: number, leaseUntil?: number): BulkPublishState => ({
  status: 'IN_PROGRESS', startedAt, completedAt: null, failureMessage: null,
  ...(leaseUntil === undefined ? {} : { leaseUntil }),
});

describe('bulk publish runs', () => {
  it('starts a run leased from its start', () => {
    expect(startBulkPublish(POOL, settings(notStarted), T0).bulkPublish).toEqual(running(T0, T0 + BULK_PUBLISH_LEASE_MS));
  });

  it('refuses a start while streaming is not ENABLED, while a run is live, and within 24 hours of a success', () => {
    expect(() => startBulkPublish(POOL, settings(notStarted, 'DISABLED'), T0)).toThrow(/not enabled/);
    expect(() => startBulkPublish(POOL, settings(running(T0, T0 + 10)), T0 + 10)).toThrow(/already in progress/);
    const done: BulkPublishState = { status: 'SUCCEEDED', startedAt: T0, completedAt: T0 + 5, failureMessage: null };
    expect(() => startBulkPublish(POOL, settings(done), T0 + 5 + BULK_PUBLISH_INTERVAL_MS - 1)).toThrow(/24 hours/);
    expect(startBulkPublish(POOL, settings(done), T0 + 5 + BULK_PUBLISH_INTERVAL_MS).bulkPublish.status).toBe('IN_PROGRESS');
  });

  it('counts a run whose lease ran out as FAILED, and lets a new one start', () => {
    const stale = running(T0, T0 + 100);
    expect(bulkPublishAt(stale, T0 + 100)).toBe(stale);
    expect(bulkPublishAt(stale, T0 + 101)).toEqual(
      { status: 'FAILED', startedAt: T0, completedAt: null, failureMessage: INTERRUPTED_MESSAGE });
    expect(startBulkPublish(POOL, settings(stale), T0 + 101).bulkPublish.startedAt).toBe(T0 + 101);
  });

  it('reads a run stored without a lease as leased from its start', () => {
    expect(bulkPublishAt(running(T0), T0 + BULK_PUBLISH_LEASE_MS).status).toBe('IN_PROGRESS');
    expect(bulkPublishAt(running(T0), T0 + BULK_PUBLISH_LEASE_MS + 1).status).toBe('FAILED');
  });

  it('renews and finishes only the live run it belongs to', () => {
    const live = running(T0, T0 + 100);
    expect(renewBulkPublishLease(live, T0, T0 + 50, 100)).toEqual(running(T0, T0 + 150));
    expect(finishBulkPublish(live, T0, T0 + 50, null)).toEqual(
      { status: 'SUCCEEDED', startedAt: T0, completedAt: T0 + 50, failureMessage: null });
    expect(finishBulkPublish(live, T0, T0 + 50, 'boom')).toEqual(
      { status: 'FAILED', startedAt: T0, completedAt: null, failureMessage: 'boom' });
    // Another run (a newer start), or this run after its lease ran out: left as it is.
    for (const [state, now] of [[running(T0 + 1, T0 + 100), T0 + 50], [live, T0 + 101]] as const) {
      expect(renewBulkPublishLease(state, T0, now)).toBe(state);
      expect(finishBulkPublish(state, T0, now, null)).toBe(state);
    }
  });
});
