/**
 * The one store suite, free of any test framework so that it runs both under vitest (store-suite.ts: memory, file,
 * fake-indexeddb) and inside headless Chromium on the real IndexedDB (browser/page.ts). Each check throws on a
 * broken contract (store.ts states them).
 */
import type { DatasetSnapshot, LocalStore, StoredValue } from '../src/index.js';
import { StoreInUseError } from '../src/store/errors.js';

export interface StoreFactory {
  /** A new, empty store. */
  create(): Promise<LocalStore>;
  /** For durable stores: a second store over the same data as `store` (after closing it), to check persistence. */
  reopen?(store: LocalStore): Promise<LocalStore>;
  /**
   * A second store from `reopen` while the first is open is refused (StoreInUseError) until the first closes.
   * Default true; false for a store without a lock there (IndexedDB without Web Locks, e.g. under Node.js).
   */
  exclusive?: boolean;
}

export interface StoreCheck {
  readonly name: string;
  /** Needs factory.reopen (durable stores only). */
  readonly durable?: boolean;
  /** Needs an exclusive store (factory.exclusive not false). */
  readonly exclusive?: boolean;
  run(factory: StoreFactory): Promise<void>;
}

/** Whether a check applies to the stores of a factory. */
export function applies(check: StoreCheck, factory: StoreFactory): boolean {
  return (!check.durable || factory.reopen !== undefined) && (!check.exclusive || factory.exclusive !== false);
}

const snapshot = (n: number, value: string | null = `v${n}`): DatasetSnapshot => ({
  format: 1, lastSyncCount: n, pendingDelete: false, changeCounter: n,
  records: [{ key: `k:${n}`, value, syncCount: n, modifiedAt: 1_700_000_000_000 + n, pending: 0 }],
});

/** JSON with sorted object keys, so equal values compare equal whatever order a store hands keys back in. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v);
}

function equal(actual: unknown, expected: unknown, what: string): void {
  if (canonical(actual) !== canonical(expected)) {
    throw new Error(`${what}: expected ${canonical(expected)}, got ${canonical(actual)}`);
  }
}

const records = (v: StoredValue | undefined) => (v as DatasetSnapshot | undefined)?.records ?? [];

export const storeChecks: readonly StoreCheck[] = [
  {
    name: 'returns what was set, undefined for unknown keys',
    async run(f) {
      const store = await f.create();
      equal(await store.get('cosync/p/i/none'), undefined, 'unknown key');
      await store.set('cosync/us-east-1:p/us-east-1:i/settings', snapshot(1));
      equal(await store.get('cosync/us-east-1:p/us-east-1:i/settings'), snapshot(1), 'value set');
      await store.close();
    },
  },
  {
    name: 'replaces values whole and keeps empty strings and nulls apart',
    async run(f) {
      const store = await f.create();
      await store.set('a', snapshot(1, ''));
      await store.set('a', snapshot(2, null));
      equal(await store.get('a'), snapshot(2, null), 'replaced value');
      if (records(await store.get('a'))[0]?.value !== null) throw new Error('a null value did not stay null');
      await store.set('b', snapshot(3, ''));
      if (records(await store.get('b'))[0]?.value !== '') throw new Error('an empty string did not stay an empty string');
      await store.close();
    },
  },
  {
    name: 'hands out copies',
    async run(f) {
      const store = await f.create();
      const value = snapshot(1);
      await store.set('a', value);
      (value.records as unknown as { key: string }[])[0]!.key = 'changed';
      const got = (await store.get('a')) as DatasetSnapshot;
      equal(got.records[0]?.key, 'k:1', 'value after changing the object that was set');
      (got as { lastSyncCount: number }).lastSyncCount = 99;
      equal(((await store.get('a')) as DatasetSnapshot).lastSyncCount, 1, 'value after changing an object got');
      await store.close();
    },
  },
  {
    name: 'lists keys by prefix in order, and forgets deleted ones',
    async run(f) {
      const store = await f.create();
      const keys = ['cosync/p:1/id:2/b.c', 'cosync/p:1/id:2/a', 'cosync/p:1/id:3/a', 'cosync/p:1/identity', 'other/../x'];
      for (const k of keys) await store.set(k, snapshot(1));
      equal(await store.keys('cosync/p:1/id:2/'), ['cosync/p:1/id:2/a', 'cosync/p:1/id:2/b.c'], 'keys by prefix');
      equal(await store.keys('other/'), ['other/../x'], 'a key with dots');
      await store.delete('cosync/p:1/id:2/a');
      await store.delete('never-set');
      equal(await store.keys('cosync/p:1/id:2/'), ['cosync/p:1/id:2/b.c'], 'keys after a delete');
      equal(await store.get('cosync/p:1/id:2/a'), undefined, 'a deleted key');
      await store.close();
    },
  },
  {
    name: 'applies concurrent writes to one key in call order',
    async run(f) {
      const store = await f.create();
      await Promise.all(Array.from({ length: 20 }, (_, i) => store.set('k', snapshot(i))));
      equal(((await store.get('k')) as DatasetSnapshot).lastSyncCount, 19, 'the last write');
      await store.close();
    },
  },
  {
    name: 'keeps values across a reopen',
    durable: true,
    async run(f) {
      const store = await f.create();
      await store.set('cosync/p/i/settings', snapshot(7));
      await store.set('cosync/p/identity', { format: 1, identityId: 'us-east-1:x', authenticated: true });
      await store.close();
      const again = await f.reopen!(store);
      equal(await again.get('cosync/p/i/settings'), snapshot(7), 'a snapshot after a reopen');
      equal(await again.get('cosync/p/identity'), { format: 1, identityId: 'us-east-1:x', authenticated: true }, 'identity after a reopen');
      equal(await again.keys('cosync/p/'), ['cosync/p/i/settings', 'cosync/p/identity'], 'keys after a reopen');
      await again.close();
    },
  },
  {
    name: 'refuses a second store over the same data until the first closes',
    durable: true,
    exclusive: true,
    async run(f) {
      const identity = { format: 1, identityId: 'us-east-1:x', authenticated: false } as const;
      const first = await f.create();
      await first.set('cosync/p/identity', identity);
      const second = await f.reopen!(first);
      const refused: unknown = await second.get('cosync/p/identity').then(() => 'nothing', (err: unknown) => err);
      if (!(refused instanceof StoreInUseError)) throw new Error(`a second store while the first is open: expected StoreInUseError, got ${String(refused)}`);
      equal(await first.get('cosync/p/identity'), identity, 'the first store, still in use');
      await first.close();
      // The refused store takes the lock at its next call, once the first has released it.
      equal(await second.get('cosync/p/identity'), identity, 'the second store after the first closed');
      const third = await f.reopen!(first);
      const refusedAgain: unknown = await third.keys('').then(() => 'nothing', (err: unknown) => err);
      if (!(refusedAgain instanceof StoreInUseError)) throw new Error(`a third store while the second is open: expected StoreInUseError, got ${String(refusedAgain)}`);
      await second.close();
      await third.close();
    },
  },
];

/** Runs every check that applies to the factory; answers the failures (none: the store passes). */
export async function runStoreChecks(factory: StoreFactory): Promise<{ ran: string[]; failures: string[] }> {
  const ran: string[] = [];
  const failures: string[] = [];
  for (const check of storeChecks) {
    if (!applies(check, factory)) continue;
    ran.push(check.name);
    await check.run(factory).catch((err: unknown) => failures.push(`${check.name}: ${err instanceof Error ? err.message : String(err)}`));
  }
  return { ran, failures };
}
