/** The store checks (store-checks.ts) as vitest tests, one per check, for one store implementation. */
import { describe, it } from 'vitest';
import { applies, storeChecks, type StoreFactory } from './store-checks.js';

export type { StoreFactory };

export function storeSuite(name: string, factory: StoreFactory): void {
  describe(`LocalStore: ${name}`, () => {
    for (const check of storeChecks) {
      // Only durable stores have a reopen, only locking ones refuse a second store; others get no such test.
      if (!applies(check, factory)) continue;
      it(check.name, () => check.run(factory));
    }
  });
}
