import type { SyncStore } from './store.js';

export type * from './types.js';
export type { SyncStore } from './store.js';

/** How to reach the database. More engines (PostgreSQL) join this union as they are added. */
export type StoreConfig = {
  readonly engine: 'sqlite';
  /** A file path, or ':memory:'. */
  readonly file: string;
  /** Default FULL: an acknowledged write is durable. */
  readonly synchronous?: 'FULL' | 'NORMAL' | undefined;
};

/**
 * Opens the configured engine, migrating its schema. Adapters are imported lazily so that a deployment loads
 * (and needs installed) only the driver it uses.
 */
export async function openStore(config: StoreConfig): Promise<SyncStore> {
  switch (config.engine) {
    case 'sqlite': {
      const { openSqliteStore } = await import('./sqlite/sqlite-store.js');
      return openSqliteStore({ file: config.file, synchronous: config.synchronous });
    }
    default:
      // Reachable only from untyped configuration (JSON, environment).
      throw new Error(`unknown storage engine: ${String((config as { engine: unknown }).engine)}`);
  }
}
