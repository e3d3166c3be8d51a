import type { Operation } from '../operation.js';
import type { SyncOperationName } from '../model/cognito-sync-model.js';
import { bulkPublish } from './operations/bulk-publish.js';
import { deleteDataset } from './operations/delete-dataset.js';
import { describeDataset } from './operations/describe-dataset.js';
import { describeIdentityPoolUsage } from './operations/describe-identity-pool-usage.js';
import { describeIdentityUsage } from './operations/describe-identity-usage.js';
import { getBulkPublishDetails } from './operations/get-bulk-publish-details.js';
import { getCognitoEvents } from './operations/get-cognito-events.js';
import { getIdentityPoolConfiguration } from './operations/get-identity-pool-configuration.js';
import { listDatasets } from './operations/list-datasets.js';
import { listIdentityPoolUsage } from './operations/list-identity-pool-usage.js';
import { listRecords } from './operations/list-records.js';
import { registerDevice } from './operations/register-device.js';
import { setCognitoEvents } from './operations/set-cognito-events.js';
import { setIdentityPoolConfiguration } from './operations/set-identity-pool-configuration.js';
import { subscribeToDataset } from './operations/subscribe-to-dataset.js';
import { unsubscribeFromDataset } from './operations/unsubscribe-from-dataset.js';
import { updateRecords } from './operations/update-records.js';

/** Every Cognito Sync operation of the model; the type makes a missing one a compile error. */
export const syncOperations = {
  BulkPublish: bulkPublish,
  DeleteDataset: deleteDataset,
  DescribeDataset: describeDataset,
  DescribeIdentityPoolUsage: describeIdentityPoolUsage,
  DescribeIdentityUsage: describeIdentityUsage,
  GetBulkPublishDetails: getBulkPublishDetails,
  GetCognitoEvents: getCognitoEvents,
  GetIdentityPoolConfiguration: getIdentityPoolConfiguration,
  ListDatasets: listDatasets,
  ListIdentityPoolUsage: listIdentityPoolUsage,
  ListRecords: listRecords,
  RegisterDevice: registerDevice,
  SetCognitoEvents: setCognitoEvents,
  SetIdentityPoolConfiguration: setIdentityPoolConfiguration,
  SubscribeToDataset: subscribeToDataset,
  UnsubscribeFromDataset: unsubscribeFromDataset,
  UpdateRecords: updateRecords,
} satisfies Record<SyncOperationName, Operation<SyncOperationName, never>>;
