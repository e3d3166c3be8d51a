import {
  DeleteDatasetCommand, ListRecordsCommand, UpdateRecordsCommand, type CognitoSyncClient, type _Record as SdkRecord,
  type RecordPatch,
} from '@aws-sdk/client-cognito-sync';

/** Most records one UpdateRecords may carry, and the page size asked of ListRecords (the service's own limits). */
export const MAX_PATCHES_PER_UPDATE = 1024;
const PAGE_SIZE = 1024;

/** A record as the server reports it; `value: null` is a tombstone (a removed record). */
export interface RemoteRecord {
  readonly key: string;
  readonly value: string | null;
  readonly syncCount: number;
  /** The writing device's time of the edit (DeviceLastModifiedDate, else LastModifiedDate), epoch ms. */
  readonly modifiedAt: number;
}

export interface RemoteListing {
  readonly records: RemoteRecord[];
  readonly datasetSyncCount: number;
  readonly exists: boolean;
  readonly deletedAfter: boolean;
  readonly mergedDatasetNames: string[];
  readonly sessionToken: string;
}

export interface Patch {
  readonly key: string;
  readonly value: string | null;
  readonly syncCount: number;
  readonly modifiedAt: number;
}

/** Requests made so far, by operation (what synchronize() reports and the request-count tests assert). */
export interface RequestCounts {
  listRecords: number;
  updateRecords: number;
  deleteDataset: number;
}

/** The three Cognito Sync operations a sync needs, for one identity in one pool. */
export class Remote {
  constructor(
    private readonly client: CognitoSyncClient,
    private readonly identityPoolId: string,
    private readonly identityId: string,
    readonly counts: RequestCounts = { listRecords: 0, updateRecords: 0, deleteDataset: 0 },
  ) {}

  /** Every record changed after `lastSyncCount`, following nextToken to the last page. */
  async listAll(datasetName: string, lastSyncCount: number): Promise<RemoteListing> {
    const records: RemoteRecord[] = [];
    let nextToken: string | undefined;
    let first: RemoteListing | undefined;
    do {
      this.counts.listRecords += 1;
      const page = await this.client.send(new ListRecordsCommand({
        ...this.ref(datasetName), LastSyncCount: lastSyncCount, MaxResults: PAGE_SIZE, NextToken: nextToken,
        SyncSessionToken: first?.sessionToken,
      }));
      for (const r of page.Records ?? []) records.push(fromSdk(r));
      // Every page reports the same dataset state (a snapshot taken by the first); keep the first's.
      first ??= {
        records, datasetSyncCount: page.DatasetSyncCount ?? 0, exists: page.DatasetExists ?? false,
        deletedAfter: page.DatasetDeletedAfterRequestedSyncCount ?? false,
        mergedDatasetNames: page.MergedDatasetNames ?? [], sessionToken: page.SyncSessionToken ?? '',
      };
      nextToken = page.NextToken ?? undefined;
    } while (nextToken);
    return first;
  }

  /**
   * What ListRecords from `lastSyncCount` reports of the dataset itself (one request, at most one record): whether it
   * exists and whether it was deleted after that count.
   */
  async datasetState(
    datasetName: string, lastSyncCount: number,
  ): Promise<Pick<RemoteListing, 'exists' | 'deletedAfter'> & { syncCount: number }> {
    this.counts.listRecords += 1;
    const page = await this.client.send(new ListRecordsCommand({ ...this.ref(datasetName), LastSyncCount: lastSyncCount, MaxResults: 1 }));
    return {
      exists: page.DatasetExists ?? false, deletedAfter: page.DatasetDeletedAfterRequestedSyncCount ?? false,
      syncCount: page.DatasetSyncCount ?? 0,
    };
  }

  /** One UpdateRecords (at most MAX_PATCHES_PER_UPDATE patches); answers the records as the server stored them. */
  async update(datasetName: string, sessionToken: string, patches: readonly Patch[]): Promise<RemoteRecord[]> {
    this.counts.updateRecords += 1;
    const out = await this.client.send(new UpdateRecordsCommand({
      ...this.ref(datasetName), SyncSessionToken: sessionToken, RecordPatches: patches.map(toSdkPatch),
    }));
    return (out.Records ?? []).map(fromSdk);
  }

  /** Deletes the dataset on the server; one that does not exist (404) counts as deleted. */
  async deleteDataset(datasetName: string): Promise<void> {
    this.counts.deleteDataset += 1;
    try {
      await this.client.send(new DeleteDatasetCommand(this.ref(datasetName)));
    } catch (err) {
      if ((err as { name?: string }).name !== 'ResourceNotFoundException') throw err;
    }
  }

  private ref(DatasetName: string) {
    return { IdentityPoolId: this.identityPoolId, IdentityId: this.identityId, DatasetName };
  }
}

function fromSdk(r: SdkRecord): RemoteRecord {
  const date = r.DeviceLastModifiedDate ?? r.LastModifiedDate;
  return { key: r.Key ?? '', value: r.Value ?? null, syncCount: r.SyncCount ?? 0, modifiedAt: date ? date.getTime() : 0 };
}

/** A remove is an explicit `remove` op; an empty string is a value and is sent with `replace`. */
function toSdkPatch(p: Patch): RecordPatch {
  const base = { Key: p.key, SyncCount: p.syncCount, DeviceLastModifiedDate: new Date(p.modifiedAt) };
  return p.value === null ? { ...base, Op: 'remove' } : { ...base, Op: 'replace', Value: p.value };
}
