import type { StoredValue } from '../types.js';

/**
 * Where the local copies live. A store is a small durable key-value map; the client writes one value per dataset
 * (the whole snapshot, at most 1,024 records and about 1 MB) and one per identity pool.
 *
 * Contracts, checked for every implementation by packages/client/test/store-suite.ts:
 * - `set` resolves only once the value is durable (for a durable store) and replaces the old value whole:
 *   after a crash `get` returns the old or the new value, never a mix.
 * - `get` returns a value equal to the last one set (a copy: changing it does not change the store).
 * - `keys(prefix)` lists every key starting with `prefix`, in ascending order.
 * - Keys are arbitrary strings (they contain `/`, `:` and `.`; dataset keys reach about 250 characters).
 * - A store whose data others can reach (a directory, an IndexedDB database) serves one instance at a time: another
 *   instance over the same data fails at its first call with StoreInUseError (errors.ts) until the first one's
 *   `close()`, and tries again at each later call. (The client adds: one client per store object.)
 * - A value that cannot be read back (damaged outside the store) makes `get` throw CorruptValueError naming the
 *   key and where it lives; `delete(key)` still removes it.
 */
export interface LocalStore {
  get(key: string): Promise<StoredValue | undefined>;
  set(key: string, value: StoredValue): Promise<void>;
  delete(key: string): Promise<void>;
  keys(prefix: string): Promise<string[]>;
  close(): Promise<void>;
}
