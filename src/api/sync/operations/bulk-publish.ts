import { defineSyncOperation } from '../../operation.js';
import { errors } from '../../errors.js';
import { requirePool } from '../common.js';
import type { RequestContext } from '../../operation.js';
import type { PoolSyncSettings } from '../../../storage/types.js';

/** One successful bulk publish per 24 hours (not adjustable at AWS). */
export const BULK_PUBLISH_INTERVAL_MS = 24 * 60 * 60 * 1000;

/**
 * Starts publishing all of the pool's data to its Cognito stream, asynchronously (developer credentials).
 * Needs streaming configured and ENABLED; one run at a time (DuplicateRequestException) and one success per
 * 24 hours (AlreadyStreamedException). Progress shows in GetBulkPublishDetails. The publishing itself is done
 * by the `bulkPublish` hooks; with none registered the run succeeds at once.
 */
export const bulkPublish = defineSyncOperation({
  name: 'BulkPublish',
  auth: 'developer',
  async handler(input: { IdentityPoolId: string }, ctx) {
    const { store, clock } = ctx.services;
    await requirePool(ctx, input.IdentityPoolId, 'notFound');
    const now = clock.now();
    await store.updatePoolSyncSettings(input.IdentityPoolId, (current) => start(input.IdentityPoolId, current, now));
    void runBulkPublish(ctx, input.IdentityPoolId);
    return { IdentityPoolId: input.IdentityPoolId };
  },
});

function start(identityPoolId: string, current: PoolSyncSettings, now: number): PoolSyncSettings {
  if (current.cognitoStreams?.streamingStatus !== 'ENABLED') {
    throw errors.invalidParameter(`Cognito Streams is not enabled for identity pool ${identityPoolId}; enable it with SetIdentityPoolConfiguration first`);
  }
  const { status, completedAt } = current.bulkPublish;
  if (status === 'IN_PROGRESS') throw errors.duplicateRequest(`A bulk publish is already in progress for identity pool ${identityPoolId}`);
  if (status === 'SUCCEEDED' && completedAt !== null && now - completedAt < BULK_PUBLISH_INTERVAL_MS) {
    const next = new Date(completedAt + BULK_PUBLISH_INTERVAL_MS).toISOString();
    throw errors.alreadyStreamed(`A bulk publish of identity pool ${identityPoolId} succeeded less than 24 hours ago; the next may start at ${next}`);
  }
  return { ...current, bulkPublish: { status: 'IN_PROGRESS', startedAt: now, completedAt: null, failureMessage: null } };
}

async function runBulkPublish(ctx: RequestContext, identityPoolId: string): Promise<void> {
  const { hooks, store, clock, config, logger } = ctx.services;
  let failure: string | null = null;
  try {
    await hooks.bulkPublish({ region: config.region, identityPoolId, requestId: ctx.requestId });
  } catch (err) {
    failure = err instanceof Error ? err.message : String(err);
  }
  try {
    await store.updatePoolSyncSettings(identityPoolId, (current) => ({
      ...current,
      bulkPublish: failure === null
        ? { ...current.bulkPublish, status: 'SUCCEEDED', completedAt: clock.now(), failureMessage: null }
        : { ...current.bulkPublish, status: 'FAILED', completedAt: null, failureMessage: failure },
    }));
  } catch (err) {
    logger.error({ requestId: ctx.requestId, err }, `[bulkPublish] could not record the outcome for ${identityPoolId}`);
  }
}
