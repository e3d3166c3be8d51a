import { defineSyncOperation } from '../../operation.js';
import { errors } from '../../errors.js';
import { datasetShape, requireIdentity } from '../common.js';

interface DeleteDatasetInput {
  IdentityPoolId: string;
  IdentityId: string;
  DatasetName: string;
}

/**
 * Deletes a dataset with its records and tombstones and answers with its metadata as it was. Afterwards
 * DescribeDataset and DeleteDataset answer 404, ListRecords reports DatasetExists false (and, to clients that
 * synced before, DatasetDeletedAfterRequestedSyncCount true), and UpdateRecords re-creates it with its sync
 * count continuing upward (SPEC §5.6). A dataset that does not exist answers 404 (clients ignore that 404).
 */
export const deleteDataset = defineSyncOperation({
  name: 'DeleteDataset',
  auth: 'either',
  async handler(input: DeleteDatasetInput, ctx) {
    const { store, clock, hooks, config } = ctx.services;
    await requireIdentity(ctx, input.IdentityPoolId, input.IdentityId, 'notFound');
    const before = await store.deleteDataset(input.IdentityId, input.DatasetName, clock.now());
    if (!before) throw errors.notFound(`Dataset '${input.DatasetName}' not found.`);
    hooks.afterDatasetDeleted({
      region: config.region, identityPoolId: input.IdentityPoolId, identityId: input.IdentityId,
      datasetName: input.DatasetName, requestId: ctx.requestId, principal: ctx.principal,
    });
    return { Dataset: datasetShape(before) };
  },
});
