import type { SyncStore } from './store.js';

export type * from './types.js';
export type { SyncStore } from './store.js';

/** How to reach the database: the embedded SQLite file, or a PostgreSQL server shared by any number of instances. */
export type StoreConfig =
  | {
      readonly engine: 'sqlite';
      /** A file path, or ':memory:'. */
      readonly file: string;
      /** Default FULL: an acknowledged write is durable. */
      readonly synchronous?: 'FULL' | 'NORMAL' | undefined;
      /**
       * Default shared: other connections and processes may open the file too. exclusive: this store holds the
       * file locked until it closes, and reads skip SQLite's file locking (see sqlite-store.ts).
       */
      readonly locking?: 'exclusive' | 'shared' | undefined;
    }
  | {
      readonly engine: 'postgres';
      /** postgres://user:password@host:port/database (libpq URL; `?options=-c%20search_path%3Dname` picks a schema). */
      readonly url: string;
      /** Most connections per instance (default 10). */
      readonly poolSize?: number | undefined;
      /** Milliseconds a statement (lock waits included) may run before the database cancels it (default 5000). */
      readonly statementTimeoutMs?: number | undefined;
      /** Milliseconds to wait for a connection before a request fails (default 5000). */
      readonly connectTimeoutMs?: number | undefined;
    };

export interface OpenStoreOptions {
  /** Told about errors the engine recovers from by itself (a PostgreSQL connection lost while idle). */
  readonly onBackgroundError?: ((error: Error) => void) | undefined;
  /** Told the schema versions the open applied, oldest first, when it applied any. */
  readonly onMigrated?: ((applied: readonly number[]) => void) | undefined;
  /**
   * Told that another instance, of a newer release, migrated the shared schema beyond the version this release
   * knows (PostgreSQL; looked for every minute).
   */
  readonly onSchemaAhead?: ((version: number, known: number) => void) | undefined;
}

/**
 * Opens the configured engine, migrating its schema. Adapters are imported lazily so that a deployment loads
 * (and needs installed) only the driver it uses.
 */
export async function openStore(config: StoreConfig, options: OpenStoreOptions = {}): Promise<SyncStore> {
  switch (config.engine) {
    case 'sqlite': {
      const { openSqliteStore } = await import('./sqlite/sqlite-store.js');
      return openSqliteStore({
        file: config.file, synchronous: config.synchronous, exclusive: config.locking === 'exclusive',
        onMigrated: options.onMigrated,
      });
    }
    case 'postgres': {
      const { openPostgresStore } = await import('./postgres/postgres-store.js');
      return openPostgresStore({
        url: config.url,
        poolSize: config.poolSize ?? 10,
        statementTimeoutMs: config.statementTimeoutMs ?? 5000,
        connectTimeoutMs: config.connectTimeoutMs ?? 5000,
        onPoolError: options.onBackgroundError,
        onMigrated: options.onMigrated,
        onSchemaAhead: options.onSchemaAhead,
      });
    }
    default:
      // Reachable only from untyped configuration (JSON, environment).
      throw new Error(`unknown storage engine: ${String((config as { engine: unknown }).engine)}`);
  }
}
