import type { StoredValue } from '../types.js';
import { StoreInUseError } from './errors.js';
import type { LocalStore } from './store.js';

const OBJECT_STORE = 'values';

/**
 * The part of `IDBFactory` this store calls, typed structurally so that the published declarations compile
 * without the DOM lib (Node.js-only projects import this module through the package's index). `indexedDB` and
 * fake-indexeddb's `IDBFactory` both fit; the result of `open` is used as an `IDBOpenDBRequest`.
 */
export interface IndexedDbFactory {
  open(name: string, version?: number): unknown;
}

/**
 * A store in the browser's IndexedDB: one database, one object store, one entry per key. Each call is its own
 * transaction; `set` resolves when the transaction completes (IndexedDB's durability point).
 * Pass `factory` to use another implementation (e.g. fake-indexeddb under Node.js).
 *
 * One store at a time per database and origin: where the Web Locks API exists (browsers), the first use takes the
 * lock `cosync-store:<databaseName>` (with `ifAvailable`, so it never waits) and holds it until close(); a store
 * in another tab, or a second one in this tab, gets StoreInUseError until then (a closed tab releases its lock).
 * Without Web Locks (e.g. fake-indexeddb under Node.js) nothing is locked.
 */
export class IndexedDbStore implements LocalStore {
  private readonly factory: IDBFactory;
  private opened: Promise<{ db: IDBDatabase; unlock: () => Promise<void> }> | undefined;

  constructor(private readonly databaseName = 'cosync', factory?: IndexedDbFactory) {
    this.factory = (factory ?? globalThis.indexedDB) as IDBFactory;
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

  /** Closes the database and releases the lock (a later call opens and takes them again). */
  async close(): Promise<void> {
    const opened = this.opened;
    this.opened = undefined;
    const held = await opened?.catch(() => undefined);
    if (!held) return;
    held.db.close();
    await held.unlock();
  }

  /** The lock, then the database; a failure (e.g. StoreInUseError) is retried by the next call. */
  private open() {
    if (!this.opened) {
      const opened = (async () => {
        const unlock = await holdWebLock(`cosync-store:${this.databaseName}`, this.databaseName);
        try {
          return { db: await openDatabase(this.factory, this.databaseName), unlock };
        } catch (err) {
          await unlock();
          throw err;
        }
      })();
      this.opened = opened;
      opened.catch(() => { if (this.opened === opened) this.opened = undefined; });
    }
    return this.opened;
  }

  /** Runs one request in its own transaction and resolves with its result once the transaction has completed. */
  private async run<T>(mode: IDBTransactionMode, request: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
    const { db } = await this.open();
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

/** The part of the Web Locks API used here (declared here: Node's globals may lack it). */
interface WebLocks {
  request(name: string, options: { ifAvailable: boolean }, callback: (lock: unknown) => Promise<void> | undefined): Promise<unknown>;
}

/**
 * Takes the Web Lock `name` if it is free and holds it until the returned function is called (which resolves
 * once it is released). Rejects with StoreInUseError if another holds it. Without Web Locks: a no-op.
 */
function holdWebLock(name: string, databaseName: string): Promise<() => Promise<void>> {
  const locks = (globalThis as { navigator?: { locks?: WebLocks } }).navigator?.locks;
  if (!locks) return Promise.resolve(async () => undefined);
  return new Promise((resolve, reject) => {
    const request = locks.request(name, { ifAvailable: true }, (lock) => {
      if (!lock) {
        reject(new StoreInUseError(
          `IndexedDbStore: the database "${databaseName}" is in use by another client (another tab or window of this ` +
          `app, or another store in this one, holds the Web Lock "${name}"). One client at a time may use a store: ` +
          'retry after that client has closed (a closed tab releases it), or defer to it, e.g. over a BroadcastChannel.',
        ));
        return undefined;
      }
      return new Promise<void>((release) => {
        resolve(async () => {
          release();
          await request.catch(() => undefined);
        });
      });
    });
    request.catch(reject);
  });
}
