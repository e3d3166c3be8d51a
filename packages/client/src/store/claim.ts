import { StoreInUseError } from './errors.js';
import type { LocalStore } from './store.js';

/**
 * Which client uses each store object. Two clients on one store object would each keep their own copy of a
 * dataset in memory and write it whole, the last writer silently undoing the other's acknowledged writes; the
 * stores' own locks (FileStore, IndexedDbStore) cannot see that case, since it is one store.
 */
const owners = new WeakMap<LocalStore, object>();

/** Marks `store` as used by `owner` (again, for the same owner); StoreInUseError if another owner uses it. */
export function claimStore(store: LocalStore, owner: object): void {
  const current = owners.get(store);
  if (current !== undefined && current !== owner) {
    throw new StoreInUseError(
      'this store object is used by another CosyncClient: one client at a time may use a store. Close that client ' +
      'first (close() frees its store), or give each client a store of its own.',
    );
  }
  owners.set(store, owner);
}

/** Whether another owner than `owner` uses `store` (then `owner` must not close it). */
export function usedByAnother(store: LocalStore, owner: object): boolean {
  const current = owners.get(store);
  return current !== undefined && current !== owner;
}

/** Frees `store` if `owner` holds it. */
export function releaseStore(store: LocalStore, owner: object): void {
  if (owners.get(store) === owner) owners.delete(store);
}
