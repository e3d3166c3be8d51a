import { defineSyncOperation } from '../../operation.js';
import { decodePageToken, encodePageToken, isNamePosition, pageSize } from '../../../domain/page-token.js';
import { datasetShape, requireIdentity } from '../common.js';

interface ListDatasetsInput {
  IdentityPoolId: string;
  IdentityId: string;
  NextToken?: string;
  MaxResults?: number;
}

/**
 * The identity's live datasets (merged `<name>.<oldId>` ones included) by name. Without maxResults every
 * dataset comes back in one page (iOS never pages). `Count` is the number of datasets in this page.
 */
export const listDatasets = defineSyncOperation({
  name: 'ListDatasets',
  auth: 'either',
  async handler(input: ListDatasetsInput, ctx) {
    const { store, config } = ctx.services;
    await requireIdentity(ctx, input.IdentityPoolId, input.IdentityId, 'notAuthorized');
    const listing = ['ListDatasets', input.IdentityPoolId, input.IdentityId];
    const after = input.NextToken === undefined
      ? undefined : decodePageToken(ctx.services.sessionKey, listing, input.NextToken, isNamePosition).after;
    const limit = pageSize(input.MaxResults, config.limits.maxPageSize, Number.MAX_SAFE_INTEGER - 1);
    const rows = await store.listDatasets(input.IdentityId, { after, limit: limit + 1 });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      Datasets: page.map(datasetShape),
      Count: page.length,
      ...(rows.length > limit && last
        ? { NextToken: encodePageToken(ctx.services.sessionKey, listing, { after: last.datasetName }) } : {}),
    };
  },
});
