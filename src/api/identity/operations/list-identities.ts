import { defineIdentityOperation } from '../../operation.js';
import { nextEventLoopTurn } from '../../turns.js';
import { afterFromToken, describeIdentity, requirePool, tokenAfter } from '../common.js';
import type { SyncStore } from '../../../storage/store.js';
import type { Identity } from '../../../storage/types.js';

interface ListIdentitiesInput {
  IdentityPoolId: string;
  /** 1–60, required (checked against the model before the handler runs). */
  MaxResults: number;
  NextToken?: string;
  /** When true, disabled identities (merge losers) are left out; by default they are listed. */
  HideDisabled?: boolean;
}

/**
 * Identities of one pool ordered by ID, `MaxResults` at a time; ResourceNotFoundException for an unknown pool.
 * NextToken is opaque (the keyset position after the last identity returned) and present only when at least one
 * more listable identity follows, so pages are full, and never repeat or skip an identity.
 */
export const listIdentities = defineIdentityOperation({
  name: 'ListIdentities',
  auth: 'developer',
  async handler(input: ListIdentitiesInput, ctx) {
    await requirePool(ctx, input.IdentityPoolId);
    const listing = ['ListIdentities', input.IdentityPoolId];
    const { items, more } = await collectPage(
      ctx.services.store, input.IdentityPoolId, afterFromToken(ctx, listing, input.NextToken), input.MaxResults,
      input.HideDisabled === true,
    );
    const last = items[items.length - 1];
    // The page's logins in one store call, not one per identity.
    const logins = await ctx.services.store.listLoginsOf(items.map((identity) => identity.identityId));
    return {
      IdentityPoolId: input.IdentityPoolId,
      Identities: items.map((identity) => describeIdentity(identity, logins.get(identity.identityId) ?? [])),
      ...(more && last ? { NextToken: tokenAfter(ctx, listing, last.identityId) } : {}),
    };
  },
});

/** Identities read per store call while disabled ones are hidden: a run of them may be long (every merge leaves one). */
const HIDING_BATCH = 500;

/**
 * Up to `limit` listable identities after `after`, and whether another listable one follows. Reads the store in
 * batches of `limit + 1` (HIDING_BATCH when disabled identities are left out) and keeps reading while disabled
 * identities thin a batch out, letting other requests run between batches.
 */
async function collectPage(
  store: SyncStore, identityPoolId: string, after: string | undefined, limit: number, hideDisabled: boolean,
): Promise<{ items: Identity[]; more: boolean }> {
  const items: Identity[] = [];
  const batchSize = hideDisabled ? Math.max(limit + 1, HIDING_BATCH) : limit + 1;
  let cursor = after;
  for (;;) {
    const batch = await store.listIdentities(identityPoolId, { after: cursor, limit: batchSize });
    for (const identity of batch) {
      if (hideDisabled && identity.disabled) continue;
      if (items.length === limit) return { items, more: true };
      items.push(identity);
    }
    const last = batch[batch.length - 1];
    if (batch.length < batchSize || !last) return { items, more: false };
    cursor = last.identityId;
    await nextEventLoopTurn();
  }
}
