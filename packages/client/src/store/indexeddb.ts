import type { StoredValue } from '../types.js';
import type { LocalStore } from './store.js';

const OBJECT_STORE = 'values';

/**
 * A store in the browser's IndexedDB: one database, one object store, one entry per key. Each call is its own
 * transaction; `set` resolves when the transaction completes (IndexedDB's durability point).
 * Pass `factory` to use another implementation (e.g. fake-indexeddb under Node.js).
 */
export class IndexedDbStore implements LocalStore {
  private readonly db: Promise<IDBDatabase>;

  constructor(databaseName = 'cosync', factory: IDBFactory = globalThis.indexedDB) {
    this.db = openDatabase(factory, databaseName);
  }

  async get(key: string): Promise<StoredValue | undefined> {
    const found = await this.run('readonly', (s) => s.get(key));
    return found as StoredValue | undefined;
  }

  async set(key: string, value: StoredValue): Promise<void> {
    await this.run('readwrite', (s) => s.put(value, key));
  }

  async delete(key: string): Promise<void> {
    await this.run('readwrite', (s) => s.delete(key));
  }

  async keys(prefix: string): Promise<string[]> {
    // A handful of keys per app: listing all of them avoids needing the global IDBKeyRange.
    const keys = await this.run('readonly', (s) => s.getAllKeys());
    return (keys as IDBValidKey[]).map(String).filter((k) => k.startsWith(prefix)).sort();
  }

  async close(): Promise<void> {
    (await this.db).close();
  }

  /** Runs one request in its own transaction and resolves with its result once the transaction has completed. */
  private async run<T>(mode: IDBTransactionMode, request: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
    const db = await this.db;
    return new Promise<T>((resolve, reject) => {
      const tx = db.transaction(OBJECT_STORE, mode);
      const req = request(tx.objectStore(OBJECT_STORE));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(tx.error ?? req.error);
      tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
    });
  }
}

function openDatabase(factory: IDBFactory, name: string): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = factory.open(name, 1);
    req.onupgradeneeded = () => { req.result.createObjectStore(OBJECT_STORE); };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
    req.onblocked = () => reject(new Error(`IndexedDB database ${name} is blocked by another connection`));
  });
}
