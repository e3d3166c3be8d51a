import { defineSyncOperation, fromEpochSeconds } from '../../operation.js';
import { checkPatchCount, planUpdate, type Patch } from '../../../domain/update-plan.js';
import { verifySyncSessionToken, type SyncSession } from '../../../domain/sync-session.js';
import { lastModifiedBy } from '../../../auth/principal.js';
import { errors } from '../../errors.js';
import { checkIdentity, isUsableIdentity, recordShape, requireIdentity } from '../common.js';
import type { Identity } from '../../../storage/types.js';
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
    const { store, clock, config, hooks } = ctx.services;
    // The patches' own rules (no key twice, no negative count) are input checks: they come before any lookup.
    checkPatchCount(input.RecordPatches?.length ?? 0, config.limits);
    const sent = toPatches(input.RecordPatches ?? []);
    // The identity is checked on the row the commit reads in its own transaction; identity credentials come with
    // the row their resolver read, checked first so that their errors keep their order.
    const checkedIdentity = ctx.principal.kind === 'developer'
      ? undefined : await requireIdentity(ctx, input.IdentityPoolId, input.IdentityId, 'notFound');
    const now = clock.now();
    const session = await verifySession(ctx, input, checkedIdentity !== undefined, now);
    const requested = await applyTriggers(ctx, input, sent);
    // The pool's Sync Trigger (identity credentials only): its answer is what gets committed (src/triggers/).
    const triggered = await ctx.services.triggers.prepare({
      principal: ctx.principal, requestId: ctx.requestId, identityPoolId: input.IdentityPoolId,
      identityId: input.IdentityId, datasetName: input.DatasetName, session, patches: requested,
      clientGone: ctx.clientGone,
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
        // Checked here for identity credentials too: the identity may have been deleted or merged since its
        // credentials were resolved, by another worker or instance, and its data must not outlive it.
        if (!isUsableIdentity(state.identity, input.IdentityPoolId)) {
          throw new UnusableIdentity(state.identity);
        }
        triggered?.guard(state);
        return planUpdate(state, patches, {
          identityId: input.IdentityId,
          datasetName: input.DatasetName,
          now,
          modifiedBy: lastModifiedBy(ctx.principal),
          limits: config.limits,
          deletionMark: session.deletionMark,
          requestHadPatches: sent.length > 0,
        });
      },
    ).catch(async (err: unknown) => {
      if (err instanceof UnusableIdentity) await checkIdentity(ctx, err.identity, input.IdentityPoolId, input.IdentityId, 'notFound');
      throw err;
    }).finally(() => triggered?.release());
    // A push whose changes were all dropped moved only the count: nothing for other devices to fetch, and a push
    // notification for it could wake two devices whose dropped changes would then wake each other without end.
    if (plan.dataset && plan.records.length > 0) {
      hooks.afterDatasetChanged({
        region: config.region, identityPoolId: input.IdentityPoolId, identityId: input.IdentityId,
        datasetName: input.DatasetName, requestId: ctx.requestId, principal: ctx.principal,
        syncCount: plan.dataset.syncCount, records: plan.records, deviceId: input.DeviceId,
      });
    }
    return { Records: plan.records.map(recordShape) };
  },
});

/** The identity a developer-credential write found missing, disabled or in another pool (checkIdentity says which). */
class UnusableIdentity extends Error {
  constructor(readonly identity: Identity | undefined) {
    super('identity not usable');
  }
}

/**
 * The request's sync session. A bad token is answered after the identity check, as requireIdentity first would:
 * an unknown identity is ResourceNotFoundException whatever its token.
 */
async function verifySession(
  ctx: RequestContext, input: UpdateRecordsInput, identityChecked: boolean, now: number,
): Promise<SyncSession> {
  try {
    return verifySyncSessionToken(ctx.services.sessionKey, input.SyncSessionToken, {
      identityPoolId: input.IdentityPoolId, identityId: input.IdentityId, datasetName: input.DatasetName,
    }, now);
  } catch (err) {
    if (!identityChecked) await requireIdentity(ctx, input.IdentityPoolId, input.IdentityId, 'notFound');
    throw err;
  }
}

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
