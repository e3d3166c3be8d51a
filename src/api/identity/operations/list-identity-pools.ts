import { defineIdentityOperation } from '../../operation.js';
import { afterFromToken, tokenAfter } from '../common.js';

interface ListIdentityPoolsInput {
  /** 1–60, required (checked against the model before the handler runs). */
  MaxResults: number;
  NextToken?: string;
}

/**
 * Pools of the account ordered by ID, `MaxResults` at a time. NextToken is opaque (keyset position after the last
 * pool returned), present only when more pools follow, so pages never repeat or skip a pool.
 */
export const listIdentityPools = defineIdentityOperation({
  name: 'ListIdentityPools',
  auth: 'developer',
  async handler(input: ListIdentityPoolsInput, ctx) {
    const limit = input.MaxResults;
    const listing = ['ListIdentityPools'];
    const after = afterFromToken(ctx, listing, input.NextToken);
    const pools = await ctx.services.store.listIdentityPools({ after, limit: limit + 1 });
    const page = pools.slice(0, limit);
    const last = page[page.length - 1];
    return {
      IdentityPools: page.map((p) => ({ IdentityPoolId: p.identityPoolId, IdentityPoolName: p.identityPoolName })),
      ...(pools.length > limit && last ? { NextToken: tokenAfter(ctx, listing, last.identityPoolId) } : {}),
    };
  },
});
