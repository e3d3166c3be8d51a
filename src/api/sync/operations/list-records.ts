import { defineSyncOperation } from '../../operation.js';
import { deltaView } from '../../../domain/delta.js';
import { decodePageToken, encodePageToken, isRecordsPosition, pageSize } from '../../../domain/page-token.js';
import {
  INVALID_SESSION_MESSAGE, deletedSinceListing, issueSyncSessionToken, verifySyncSessionToken, type SyncSession,
} from '../../../domain/sync-session.js';
import { ServiceError, errors } from '../../errors.js';
import type { RequestContext } from '../../operation.js';
import { checkIdentity, recordShape } from '../common.js';

interface ListRecordsInput {
  IdentityPoolId: string;
  IdentityId: string;
  DatasetName: string;
  LastSyncCount?: number;
  NextToken?: string;
  MaxResults?: number;
  SyncSessionToken?: string;
}

/**
 * The delta since `lastSyncCount` (records and tombstones with a higher count), with the dataset's state and a
 * SyncSessionToken for the UpdateRecords that follows. A dataset that does not exist is not an error.
 * Pages are a snapshot: every page reports the DatasetSyncCount of the first, and records written after the
 * listing began wait for the next sync, so no record is skipped or repeated.
 * Without maxResults the whole delta comes back in one page (iOS never pages).
 */
export const listRecords = defineSyncOperation({
  name: 'ListRecords',
  auth: 'either',
  async handler(input: ListRecordsInput, ctx) {
    const { store, clock, config } = ctx.services;
    // Identity, dataset and merged names in one read; the checks below keep their order. Merged names are reported
    // whether or not the dataset itself exists: a guest's `notes` merged into an account that has no `notes` yet
    // must still reach the device syncing `notes`.
    const { identity, dataset, mergedDatasetNames } = await store.getDatasetView(input.IdentityId, input.DatasetName);
    if (!identity || identity.identityPoolId !== input.IdentityPoolId || identity.disabled) {
      await checkIdentity(ctx, identity, input.IdentityPoolId, input.IdentityId, 'notAuthorized');
    }
    const now = clock.now();
    const listing = recordsListing(input);
    const position = input.NextToken === undefined
      ? undefined : decodePageToken(ctx.services.sessionKey, listing, input.NextToken, isRecordsPosition);
    // Later pages judge and start sessions by the first page's view of the dataset's last deletion, as they report
    // its figures: a session started on page 2 after a deletion must not write as if the listing had seen it.
    const mark = position && position.mark !== undefined ? position.mark : dataset?.lastDeletedAtSyncCount ?? null;
    const token = await sessionToken(ctx, input, now, position?.session, mark);
    const view = deltaView(dataset, input.LastSyncCount ?? 0);
    const upTo = position ? Math.min(position.bound, view.upToSyncCount) : view.upToSyncCount;
    const limit = pageSize(input.MaxResults, config.limits.maxPageSize, Number.MAX_SAFE_INTEGER - 1);
    const rows = await store.listRecords(
      input.IdentityId, input.DatasetName,
      { sinceSyncCount: view.sinceSyncCount, upToSyncCount: upTo },
      { after: position && { syncCount: position.syncCount, key: position.key }, limit: limit + 1 },
    );
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    // Later pages report the first page's figures, merged names and LastModifiedBy (SPEC §4.1), even for a dataset
    // deleted since.
    const exists = position?.exists ?? view.datasetExists;
    const deletedAfter = position?.deletedAfter ?? view.deletedAfterRequestedSyncCount;
    // A token without them (too many to carry, or issued by an older Cosync) leaves later pages the current ones.
    const merged = position?.merged ?? mergedDatasetNames;
    const current = exists && dataset ? dataset.lastModifiedBy : undefined;
    const by = position?.by === undefined ? current : position.by ?? undefined;
    // Absent members are `undefined`, which the JSON answer leaves out: one object shape for every answer is
    // cheaper to build than conditional spreads.
    return {
      Records: page.map(recordShape),
      NextToken: rows.length > limit && last
        ? encodePageToken(ctx.services.sessionKey, listing,
          {
            bound: upTo, syncCount: last.syncCount, key: last.key, session: token, exists, deletedAfter, mark,
            merged: carriedMergedNames(merged), by: by ?? null,
          })
        : undefined,
      Count: page.length,
      DatasetSyncCount: exists ? upTo : view.reportedSyncCount,
      LastModifiedBy: by,
      MergedDatasetNames: merged.length > 0 ? merged : undefined,
      DatasetExists: exists,
      DatasetDeletedAfterRequestedSyncCount: deletedAfter,
      SyncSessionToken: token,
    };
  },
});

/**
 * Merged names a page token carries at most, in characters of their names: about 15 of the longest. Merges of guests
 * into one account are not bounded by the dataset quota, and the token travels in the query string: past a few KB
 * of names it would outgrow the request line a proxy (nginx: 8 KB) or the server (16 KB) accepts, failing every
 * later page. Beyond this the later pages report the names current when they are read.
 */
const MAX_CARRIED_MERGED_CHARS = 2048;

function carriedMergedNames(names: readonly string[]): readonly string[] | undefined {
  let chars = 0;
  for (const name of names) chars += name.length;
  return chars <= MAX_CARRIED_MERGED_CHARS ? names : undefined;
}

/** What a ListRecords page token continues: its figures hold for this dataset and `lastSyncCount` only. */
function recordsListing(input: ListRecordsInput): unknown[] {
  return ['ListRecords', input.IdentityPoolId, input.IdentityId, input.DatasetName, input.LastSyncCount ?? 0];
}

/**
 * A token given back by the client is checked (same dataset, not expired, not consumed) and returned as is, unless
 * the dataset was deleted since its listing (UpdateRecords would refuse it): then a new session starts, so that a
 * client listing again with its token after that 409 (iOS) gets one it can write with.
 * Without one, a later page returns the first page's token (`fromFirstPage`, kept in the page token) while that
 * session is still usable; otherwise a new session starts.
 */
async function sessionToken(
  ctx: RequestContext, input: ListRecordsInput, now: number, fromFirstPage: string | undefined,
  deletionMark: number | null,
): Promise<string> {
  const { sessionKey, ids, config } = ctx.services;
  if (input.SyncSessionToken !== undefined) {
    const session = await checkUsable(ctx, input, input.SyncSessionToken, now);
    if (!deletedSinceListing(session.deletionMark, deletionMark)) return input.SyncSessionToken;
  } else if (fromFirstPage !== undefined) {
    try {
      const session = await checkUsable(ctx, input, fromFirstPage, now);
      if (!deletedSinceListing(session.deletionMark, deletionMark)) return fromFirstPage;
    } catch (err) {
      // Expired, consumed, or not this dataset's: the listing goes on with a session of its own.
      if (!(err instanceof ServiceError)) throw err;
    }
  }
  // Spelled out rather than spread from another object: V8 gives a spread-then-extended literal a fresh hidden class
  // on every call, which showed as a few percent of a ListRecords request's CPU.
  return issueSyncSessionToken(sessionKey, {
    identityPoolId: input.IdentityPoolId,
    identityId: input.IdentityId,
    datasetName: input.DatasetName,
    sessionId: ids.random(16),
    expiresAt: now + config.syncSessionTtlSeconds * 1000,
    deletionMark,
  });
}

/** The session; InvalidParameterException unless `token` is a session of this dataset, unexpired, not consumed. */
async function checkUsable(
  ctx: RequestContext, input: ListRecordsInput, token: string, now: number,
): Promise<SyncSession> {
  const session = verifySyncSessionToken(ctx.services.sessionKey, token, {
    identityPoolId: input.IdentityPoolId, identityId: input.IdentityId, datasetName: input.DatasetName,
  }, now);
  if (await ctx.services.store.isSessionConsumed(input.IdentityId, session)) {
    throw errors.invalidParameter(INVALID_SESSION_MESSAGE);
  }
  return session;
}
