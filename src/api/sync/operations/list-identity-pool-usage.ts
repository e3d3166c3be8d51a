import { defineSyncOperation } from '../../operation.js';
import { errors } from '../../errors.js';
import { pageSize } from '../../../domain/page-token.js';
import { poolUsageShape } from '../usage-shape.js';

interface ListIdentityPoolUsageInput {
  NextToken?: string;
  MaxResults?: number;
}

const DEFAULT_PAGE = 60;

/**
 * Usage of every pool, by pool ID. As in AWS's example, NextToken is the base64 of the last pool ID returned,
 * MaxResults echoes the page size used and Count is the number of usages in this page.
 */
export const listIdentityPoolUsage = defineSyncOperation({
  name: 'ListIdentityPoolUsage',
  auth: 'developer',
  async handler(input: ListIdentityPoolUsageInput, ctx) {
    const { store, config } = ctx.services;
    const limit = pageSize(input.MaxResults, config.limits.maxPageSize, DEFAULT_PAGE);
    const after = input.NextToken === undefined ? undefined : decodePoolToken(input.NextToken);
    const pools = await store.listIdentityPools({ after, limit: limit + 1 });
    const page = pools.slice(0, limit);
    const usages = await store.getPoolUsage(page.map((p) => p.identityPoolId));
    const last = page[page.length - 1];
    return {
      IdentityPoolUsages: usages.map(poolUsageShape),
      MaxResults: limit,
      Count: usages.length,
      ...(pools.length > limit && last ? { NextToken: Buffer.from(last.identityPoolId).toString('base64') } : {}),
    };
  },
});

function decodePoolToken(token: string): string {
  const id = Buffer.from(token, 'base64').toString('utf8');
  if (!/^[\w-]+:[0-9a-f-]+$/.test(id)) throw errors.invalidParameter(`Invalid NextToken: '${token.slice(0, 64)}'`);
  return id;
}
