import { defineSyncOperation } from '../../operation.js';
import { datasetShape, requireDataset, requireIdentity } from '../common.js';

interface DescribeDatasetInput {
  IdentityPoolId: string;
  IdentityId: string;
  DatasetName: string;
}

/** Metadata of a live dataset; 404 ResourceNotFoundException when it does not exist or was deleted. */
export const describeDataset = defineSyncOperation({
  name: 'DescribeDataset',
  auth: 'either',
  async handler(input: DescribeDatasetInput, ctx) {
    await requireIdentity(ctx, input.IdentityPoolId, input.IdentityId, 'notFound');
    const dataset = await requireDataset(ctx, input.IdentityId, input.DatasetName);
    return { Dataset: datasetShape(dataset) };
  },
});
