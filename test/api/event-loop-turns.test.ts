/**
 * Operations that make many store calls in a row let other requests run between them. On SQLite every store call is
 * synchronous work behind a settled promise; a loop awaiting only those held the whole server for its length (a
 * scale audit saw ListIdentities with HideDisabled stall it 37–150 ms over 8,000 disabled identities, and
 * DeleteIdentities 903 ms for 60 identities with 2,048 records each).
 *
 * Measured by the longest time the event loop went without a turn during the call, against the call's length: a call
 * that never yields holds it for nearly all of it (the rest is the HTTP exchange), one that yields for one step.
 */
import { describe, expect, it } from 'vitest';
import { DeleteIdentitiesCommand, ListIdentitiesCommand } from '@aws-sdk/client-cognito-identity';
import { turnsDuring } from '../helpers/event-loop.js';
import { clients, poolWithIdentity, startServer } from '../helpers/server.js';
import { command, identity, putPlan } from '../storage/conformance.js';

describe('long operations on SQLite take turns with other requests', () => {
  it('ListIdentities hiding a long run of disabled identities', async () => {
    const t = await startServer();
    try {
      const { poolId } = await poolWithIdentity(t);
      const store = t.services.store;
      for (let i = 0; i < 20_000; i++) {
        await store.createIdentity(identity(`us-east-1:00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, poolId, { disabled: true }));
      }
      const { identity: client } = clients(t);
      let listed: string[] = [];
      const { longestGapMs, totalMs } = await turnsDuring(async () => {
        const page = await client.send(new ListIdentitiesCommand({ IdentityPoolId: poolId, MaxResults: 60, HideDisabled: true }));
        listed = (page.Identities ?? []).map((i) => i.IdentityId ?? '');
      });
      expect(listed).toHaveLength(1);
      expect(longestGapMs).toBeLessThan(totalMs / 3);
    } finally {
      await t.close();
    }
  });

  it('DeleteIdentities of identities with many records', async () => {
    const t = await startServer();
    try {
      const { poolId } = await poolWithIdentity(t);
      const store = t.services.store;
      const ids = Array.from({ length: 60 }, (_, i) => `us-east-1:00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
      for (const id of ids) {
        await store.createIdentity(identity(id, poolId));
        const values = Object.fromEntries(Array.from({ length: 1000 }, (_, k) => [`key-${k}`, 'v'.repeat(100)]));
        const c = command(id, 'ds', Object.keys(values), { identityPoolId: poolId });
        await store.writeRecords(c, putPlan(c, values));
      }
      const { identity: client } = clients(t);
      const { longestGapMs, totalMs } = await turnsDuring(() =>
        client.send(new DeleteIdentitiesCommand({ IdentityIdsToDelete: ids })));
      expect(await store.getIdentity(ids[0]!)).toBeUndefined();
      expect(longestGapMs).toBeLessThan(totalMs / 3);
    } finally {
      await t.close();
    }
  });
});
