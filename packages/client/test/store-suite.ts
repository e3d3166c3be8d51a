/**
 * The one suite every LocalStore passes (store.ts states the contracts): round trips, whole replacement, copies,
 * prefix listing of keys with `/`, `:` and `.`, deletion, per-key write order, and reopening (for durable stores).
 */
import { describe, expect, it } from 'vitest';
import type { DatasetSnapshot, LocalStore } from '../src/index.js';

export interface StoreFactory {
  /** A new, empty store. */
  create(): Promise<LocalStore>;
  /** For durable stores: a second store over the same data as `store` (after closing it), to check persistence. */
  reopen?(store: LocalStore): Promise<LocalStore>;
}

const snapshot = (n: number, value: string | null = `v${n}`): DatasetSnapshot => ({
  format: 1, lastSyncCount: n, pendingDelete: false, changeCounter: n,
  records: [{ key: `k:${n}`, value, syncCount: n, modifiedAt: 1_700_000_000_000 + n, pending: 0 }],
});

export function storeSuite(name: string, factory: StoreFactory): void {
  describe(`LocalStore: ${name}`, () => {
    it('returns what was set, undefined for unknown keys', async () => {
      const store = await factory.create();
      expect(await store.get('cosync/p/i/none')).toBeUndefined();
      await store.set('cosync/us-east-1:p/us-east-1:i/settings', snapshot(1));
      expect(await store.get('cosync/us-east-1:p/us-east-1:i/settings')).toEqual(snapshot(1));
      await store.close();
    });

    it('replaces values whole and keeps empty strings and nulls apart', async () => {
      const store = await factory.create();
      await store.set('a', snapshot(1, ''));
      await store.set('a', snapshot(2, null));
      const got = (await store.get('a')) as DatasetSnapshot;
      expect(got).toEqual(snapshot(2, null));
      expect(got.records[0]?.value).toBeNull();
      await store.set('b', snapshot(3, ''));
      expect(((await store.get('b')) as DatasetSnapshot).records[0]?.value).toBe('');
      await store.close();
    });

    it('hands out copies', async () => {
      const store = await factory.create();
      const value = snapshot(1);
      await store.set('a', value);
      (value.records as unknown as { key: string }[])[0]!.key = 'changed';
      const got = (await store.get('a')) as DatasetSnapshot;
      expect(got.records[0]?.key).toBe('k:1');
      (got as { lastSyncCount: number }).lastSyncCount = 99;
      expect(((await store.get('a')) as DatasetSnapshot).lastSyncCount).toBe(1);
      await store.close();
    });

    it('lists keys by prefix in order, and forgets deleted ones', async () => {
      const store = await factory.create();
      const keys = ['cosync/p:1/id:2/b.c', 'cosync/p:1/id:2/a', 'cosync/p:1/id:3/a', 'cosync/p:1/identity', 'other/../x'];
      for (const k of keys) await store.set(k, snapshot(1));
      expect(await store.keys('cosync/p:1/id:2/')).toEqual(['cosync/p:1/id:2/a', 'cosync/p:1/id:2/b.c']);
      expect(await store.keys('other/')).toEqual(['other/../x']);
      await store.delete('cosync/p:1/id:2/a');
      await store.delete('never-set');
      expect(await store.keys('cosync/p:1/id:2/')).toEqual(['cosync/p:1/id:2/b.c']);
      expect(await store.get('cosync/p:1/id:2/a')).toBeUndefined();
      await store.close();
    });

    it('applies concurrent writes to one key in call order', async () => {
      const store = await factory.create();
      await Promise.all(Array.from({ length: 20 }, (_, i) => store.set('k', snapshot(i))));
      expect(((await store.get('k')) as DatasetSnapshot).lastSyncCount).toBe(19);
      await store.close();
    });

    // Only durable stores have a reopen; the memory store has no such test rather than a skipped one.
    if (factory.reopen) it('keeps values across a reopen', async () => {
      const store = await factory.create();
      await store.set('cosync/p/i/settings', snapshot(7));
      await store.set('cosync/p/identity', { format: 1, identityId: 'us-east-1:x', authenticated: true });
      await store.close();
      const again = await factory.reopen!(store);
      expect(await again.get('cosync/p/i/settings')).toEqual(snapshot(7));
      expect(await again.get('cosync/p/identity')).toEqual({ format: 1, identityId: 'us-east-1:x', authenticated: true });
      expect(await again.keys('cosync/p/')).toEqual(['cosync/p/i/settings', 'cosync/p/identity']);
      await again.close();
    });
  });
}
