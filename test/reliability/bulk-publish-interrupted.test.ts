import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BulkPublishCommand, CognitoSyncClient, GetBulkPublishDetailsCommand, SetIdentityPoolConfigurationCommand,
} from '@aws-sdk/client-cognito-sync';
import { CreateIdentityPoolCommand } from '@aws-sdk/client-cognito-identity';
import { BulkPublishRuns } from '../../src/hooks/bulk-publish-runs.js';
import { HookRunner } from '../../src/hooks/hook-runner.js';
import { INTERRUPTED_MESSAGE, startBulkPublish } from '../../src/domain/bulk-publish.js';
import { createLogger } from '../../src/logger.js';
import { openSqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import type { SyncStore } from '../../src/storage/store.js';
import { clients, startServer, type TestServer } from '../helpers/server.js';
import { pool as poolRow } from '../storage/conformance.js';

/**
 * A bulk publish runs in the background of the server that accepted it. When that server stops before the run
 * ends, the run must not stay IN_PROGRESS for ever (every later BulkPublish would answer DuplicateRequestException):
 * a graceful stop records it FAILED at once, and a crash leaves a lease that runs out (test/domain/bulk-publish.test.ts
 * and the manual-clock test in test/api/sync-settings.test.ts).
 */
const dirs: string[] = [];
const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const never = () => new Promise<void>(() => {});
const STREAMS = {
  StreamName: 'sync-stream', RoleArn: 'arn:aws:iam::123456789012:role/cognito-streams', StreamingStatus: 'ENABLED' as const,
};

async function serverOn(file: string, bulkPublish: () => Promise<void>): Promise<TestServer> {
  const t = await startServer({ config: { storage: { file } }, hooks: [{ name: 'publisher', bulkPublish }] });
  servers.push(t);
  return t;
}

async function detailsWhenSettled(sync: CognitoSyncClient, IdentityPoolId: string) {
  for (let i = 0; i < 200; i++) {
    const out = await sync.send(new GetBulkPublishDetailsCommand({ IdentityPoolId }));
    if (out.BulkPublishStatus !== 'IN_PROGRESS') return out;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('bulk publish never finished');
}

describe('a bulk publish whose server stops', () => {
  it('is recorded FAILED by a graceful stop, and the pool can publish again on the next server', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cosync-bulk-'));
    dirs.push(dir);
    const file = join(dir, 'cosync.db');
    const first = await serverOn(file, never);
    const { identity, sync } = clients(first);
    const { IdentityPoolId = '' } = await identity.send(new CreateIdentityPoolCommand({
      IdentityPoolName: 'bulk', AllowUnauthenticatedIdentities: true,
    }));
    await sync.send(new SetIdentityPoolConfigurationCommand({ IdentityPoolId, CognitoStreams: STREAMS }));
    await sync.send(new BulkPublishCommand({ IdentityPoolId }));
    expect((await sync.send(new GetBulkPublishDetailsCommand({ IdentityPoolId }))).BulkPublishStatus).toBe('IN_PROGRESS');
    await servers.shift()!.close();

    const second = await serverOn(file, () => Promise.resolve());
    const next = clients(second).sync;
    const interrupted = await next.send(new GetBulkPublishDetailsCommand({ IdentityPoolId }));
    expect(interrupted).toMatchObject({ BulkPublishStatus: 'FAILED', FailureMessage: INTERRUPTED_MESSAGE });
    expect(interrupted.BulkPublishStartTime).toBeInstanceOf(Date);
    await next.send(new BulkPublishCommand({ IdentityPoolId }));
    expect((await detailsWhenSettled(next, IdentityPoolId)).BulkPublishStatus).toBe('SUCCEEDED');
  });
});

describe('the server running a bulk publish', () => {
  let store: SyncStore | undefined;
  afterEach(async () => { await store?.close(); });

  it('renews its lease while the run works, so a long run stays IN_PROGRESS', async () => {
    store = openSqliteStore({ file: ':memory:' });
    const pool = 'us-east-1:00000000-0000-4000-8000-0000000000b1';
    await store.createIdentityPool(poolRow(pool));
    await store.updatePoolSyncSettings(pool, (s) => ({
      ...s, cognitoStreams: { streamName: 's', roleArn: STREAMS.RoleArn, streamingStatus: 'ENABLED' },
    }));
    let finish = () => {};
    const work = new Promise<void>((resolve) => { finish = resolve; });
    const logger = createLogger('silent');
    const runs = new BulkPublishRuns({
      store, clock: { now: () => Date.now() }, logger, region: 'us-east-1', leaseMs: 60,
      hooks: new HookRunner([{ name: 'publisher', bulkPublish: () => work }], logger),
    });
    const startedAt = Date.now();
    await store.updatePoolSyncSettings(pool, (s) => startBulkPublish(pool, s, startedAt, runs.leaseMs));
    runs.start(pool, startedAt, 'req-1');
    // Five leases long: without renewals the run would read as FAILED after the first.
    await new Promise((r) => setTimeout(r, 300));
    const during = (await store.getPoolSyncSettings(pool)).bulkPublish;
    expect(during.status).toBe('IN_PROGRESS');
    expect(during.leaseUntil).toBeGreaterThan(Date.now());
    finish();
    await new Promise((r) => setTimeout(r, 20));
    expect((await store.getPoolSyncSettings(pool)).bulkPublish).toMatchObject({ status: 'SUCCEEDED', startedAt });
    await runs.close();
  });
});
