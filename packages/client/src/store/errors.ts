/**
 * Errors of the local stores. Both are thrown by the store (and so reach the app through the client's calls that
 * read or write it); neither changes anything stored.
 */

/**
 * Another client holds the store: a second FileStore (in this or another process) over the same directory, a
 * second IndexedDbStore (in this or another tab) over the same database, or a second CosyncClient given the same
 * store object. One client at a time may use a store: two would each keep their own copy in memory and overwrite
 * each other's writes. Nothing was read or written; retry once the other client has closed.
 */
export class StoreInUseError extends Error {
  override readonly name = 'StoreInUseError';
}

/**
 * A stored value that cannot be read back (e.g. a file truncated or edited outside this library: the stores'
 * own writes are atomic). `key` is the store key (undefined when the damage hides it), `path` where it lives.
 * Deleting the key (`store.delete(error.key)`) starts that entry over: a dataset is then pulled again from the
 * server at its next sync, losing only its changes that were never synced.
 */
export class CorruptValueError extends Error {
  override readonly name = 'CorruptValueError';
  constructor(readonly key: string | undefined, readonly path: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
