/** The store checks (store-checks.ts) as vitest tests, one per check, for one store implementation. */
import { describe, it } from 'vitest';
import { storeChecks, type StoreFactory } from './store-checks.js';

export type { StoreFactory };

export function storeSuite(name: string, factory: StoreFactory): void {
  describe(`LocalStore: ${name}`, () => {
    for (const check of storeChecks) {
      // Only durable stores have a reopen; others get no such test rather than a skipped one.
      if (check.durable && !factory.reopen) continue;
      it(check.name, () => check.run(factory));
    }
  });
}
