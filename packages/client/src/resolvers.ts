/** What a conflict resolver sees: a record changed here and on the server since the last sync. */
export interface Conflict {
  readonly datasetName: string;
  readonly key: string;
  /** The local value (`null`: removed here) and when it was written on this device (epoch ms). */
  readonly local: { readonly value: string | null; readonly modifiedAt: number };
  /** The server's value (`null`: removed), when the writing device changed it (epoch ms), and its sync count. */
  readonly remote: { readonly value: string | null; readonly modifiedAt: number; readonly syncCount: number };
}

/** Keep the server's value, keep the local one (pushed over the server's), or store another value. */
export type Resolution =
  | { readonly use: 'remote' }
  | { readonly use: 'local' }
  | { readonly use: 'value'; readonly value: string | null };

export type ConflictResolver = (conflict: Conflict) => Resolution | Promise<Resolution>;

/**
 * The default: the value written last wins, by the time of the edit on the writing device (the server's
 * DeviceLastModifiedDate, else its LastModifiedDate). On a tie the server's value wins, so every device
 * decides the same way.
 */
export const lastWriterWins: ConflictResolver = (c) =>
  c.local.modifiedAt > c.remote.modifiedAt ? { use: 'local' } : { use: 'remote' };

export const remoteWins: ConflictResolver = () => ({ use: 'remote' });

export const localWins: ConflictResolver = () => ({ use: 'local' });
