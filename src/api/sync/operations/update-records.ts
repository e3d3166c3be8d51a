import { defineSyncOperation, fromEpochSeconds } from '../../operation.js';
import { planUpdate, type Patch } from '../../../domain/update-plan.js';
import { verifySyncSessionToken } from '../../../domain/sync-session.js';
import { lastModifiedBy } from '../../../auth/principal.js';
import { errors } from '../../errors.js';
import { recordShape, requireIdentity } from '../common.js';
import type { RequestContext } from '../../operation.js';

interface RecordPatchInput {
  Op: 'replace' | 'remove';
  Key: string;
  Value?: string;
  SyncCount: number;
  DeviceLastModifiedDate?: number;
}

interface UpdateRecordsInput {
  IdentityPoolId: string;
  IdentityId: string;
  DatasetName: string;
  DeviceId?: string;
  RecordPatches?: RecordPatchInput[];
  SyncSessionToken: string;
  /** The x-amz-Client-Context header: accepted and ignored, as the model says AWS never implemented it. */
  ClientContext?: string;
}

/**
 * Applies a list of patches all or nothing (SPEC §4.2, §5.4): the dataset is created on first write, its
 * sync count rises by one, and every written record takes the new count. A stale record count answers 409
 * ResourceConflictException and writes nothing; the session token is consumed only by success.
 */
export const updateRecords = defineSyncOperation({
  name: 'UpdateRecords',
  auth: 'either',
  async handler(input: UpdateRecordsInput, ctx) {
    const { store, clock, sessionKey, config, hooks } = ctx.services;
    await requireIdentity(ctx, input.IdentityPoolId, input.IdentityId, 'notFound');
    const now = clock.now();
    const session = verifySyncSessionToken(sessionKey, input.SyncSessionToken, {
      identityPoolId: input.IdentityPoolId, identityId: input.IdentityId, datasetName: input.DatasetName,
    }, now);
    const requested = await applyTriggers(ctx, input, toPatches(input.RecordPatches ?? []));
    // The pool's Sync Trigger (identity credentials only): its answer is what gets committed (src/triggers/).
    const triggered = await ctx.services.triggers.prepare({
      principal: ctx.principal, requestId: ctx.requestId, identityPoolId: input.IdentityPoolId,
      identityId: input.IdentityId, datasetName: input.DatasetName, session, patches: requested,
    });
    const patches = triggered?.patches ?? requested;
    const plan = await store.writeRecords(
      {
        identityPoolId: input.IdentityPoolId,
        identityId: input.IdentityId,
        datasetName: input.DatasetName,
        keys: patches.map((p) => p.key),
        sessionId: session.sessionId,
        sessionExpiresAt: session.expiresAt,
      },
      (state) => {
        triggered?.guard(state);
        return planUpdate(state, patches, {
          identityId: input.IdentityId,
          datasetName: input.DatasetName,
          now,
          modifiedBy: lastModifiedBy(ctx.principal),
          limits: config.limits,
        });
      },
    ).finally(() => triggered?.release());
    if (plan.dataset) {
      hooks.afterDatasetChanged({
        region: config.region, identityPoolId: input.IdentityPoolId, identityId: input.IdentityId,
        datasetName: input.DatasetName, requestId: ctx.requestId, principal: ctx.principal,
        syncCount: plan.dataset.syncCount, records: plan.records, deviceId: input.DeviceId,
      });
    }
    return { Records: plan.records.map(recordShape) };
  },
});

function toPatches(input: readonly RecordPatchInput[]): Patch[] {
  const seen = new Set<string>();
  return input.map((p, i) => {
    if (seen.has(p.Key)) {
      throw errors.invalidParameter(`Duplicate key in RecordPatches: '${p.Key}' (patch ${i + 1}); send one patch per key`);
    }
    seen.add(p.Key);
    if (p.SyncCount < 0) {
      throw errors.invalidParameter(`1 validation error detected: Value '${p.SyncCount}' at 'recordPatches.${i + 1}.member.syncCount' failed to satisfy constraint: Member must have value greater than or equal to 0`);
    }
    return {
      op: p.Op,
      key: p.Key,
      value: p.Value,
      syncCount: p.SyncCount,
      deviceLastModifiedAt: p.DeviceLastModifiedDate === undefined ? undefined : fromEpochSeconds(p.DeviceLastModifiedDate),
    };
  });
}

/** In-code beforeUpdateRecords hooks run only for writes made with identity credentials (SPEC §3, §7). */
async function applyTriggers(ctx: RequestContext, input: UpdateRecordsInput, patches: Patch[]): Promise<Patch[]> {
  const { hooks, config } = ctx.services;
  if (ctx.principal.kind !== 'identity' || !hooks.hasBeforeUpdateRecords) return patches;
  const changes = await hooks.beforeUpdateRecords({
    region: config.region, identityPoolId: input.IdentityPoolId, identityId: input.IdentityId,
    datasetName: input.DatasetName, requestId: ctx.requestId, principal: ctx.principal, changes: patches,
  });
  return [...changes];
}
