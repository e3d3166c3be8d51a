/**
 * Slow triggers and concurrent writes: triggers of different datasets run in parallel, writes to one dataset take
 * turns (each trigger sees what was committed before it), and a write that waited too long, lost its connection
 * or was overtaken by another write is not committed.
 */
import { describe, expect, it } from 'vitest';
import { ListRecordsCommand, UpdateRecordsCommand } from '@aws-sdk/client-cognito-sync';
import { clients } from '../helpers/server.js';
import { expectError } from '../api/sync-helpers.js';
import { delay } from './support.js';
import { guest, newPool, push, put, server, stored, t, token, update, useTriggerServer, webhook, written } from './harness.js';

useTriggerServer();

describe('concurrency with a slow trigger', () => {
  it('slow triggers of different datasets run in parallel', async () => {
    const pool = await newPool();
    await webhook(pool, async (e) => { await delay(250); return { json: e }; });
    const devices = await Promise.all(Array.from({ length: 16 }, () => guest(pool)));
    const tokens = await Promise.all(devices.map(token));
    const started = Date.now();
    const outs = await Promise.all(devices.map((d, i) => update(d, tokens[i]!, [put('n', String(i))])));
    expect(Date.now() - started).toBeLessThan(16 * 250 / 2);
    outs.forEach((out, i) => expect(written(out)).toEqual({ n: [String(i), 1] }));
  });

  it('writes to one dataset take turns: each trigger sees the records committed before it', async () => {
    const pool = await newPool();
    const seen: string[][] = [];
    await webhook(pool, async (e) => {
      seen.push(Object.keys(e.datasetRecords).sort());
      await delay(150);
      return { json: e };
    });
    const phone = await guest(pool);
    // Two syncs of one dataset at once (two devices of one identity), each with its own session token.
    const [t1, t2] = await Promise.all([token(phone), token(phone)]);
    const [o1, o2] = await Promise.all([update(phone, t1!, [put('a', '1')]), update(phone, t2!, [put('b', '2')])]);
    expect([written(o1), written(o2)]).toEqual([{ a: ['1', 1] }, { b: ['2', 2] }]);
    expect(seen).toEqual([['a'], ['a', 'b']]);
    expect((await stored(t, phone.ref)).syncCount).toBe(2);
  });

  it('a write kept waiting for its turn longer than the trigger timeout answers LambdaThrottledException, unwritten', async () => {
    const bounded = await server({ timeoutMs: 1000, concurrency: 64 });
    try {
      const pool = await newPool(bounded);
      // Each call answers in 700 ms, within the 1,000 ms timeout.
      await webhook(pool, async (e) => { await delay(700); return { json: e }; }, bounded);
      const phone = await guest(pool, bounded);
      const tokens = await Promise.all([0, 1, 2].map(() => token(phone)));
      // The second waits about 700 ms for the first and is served; the third would wait about 1,400 ms.
      const outcomes = await Promise.allSettled(tokens.map((tok, i) => update(phone, tok, [put(`k${i}`, String(i))])));
      const late = outcomes.findIndex((o) => o.status === 'rejected');
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(2);
      await expectError(Promise.reject((outcomes[late] as PromiseRejectedResult).reason), 'LambdaThrottledException', 429, 'still waiting');
      const served = Object.fromEntries([0, 1, 2].filter((i) => i !== late).map((i) => [`k${i}`, String(i)]));
      expect(await stored(bounded, phone.ref)).toMatchObject({ syncCount: 2, values: served });
      // Its session is still good: alone, it commits.
      expect(written(await update(phone, tokens[late]!, [put(`k${late}`, String(late))]))).toEqual({ [`k${late}`]: [String(late), 3] });
    } finally {
      await bounded.close();
    }
  });

  it('a triggered write whose connection the idle timeout cut while it waited is not committed', async () => {
    // Idle timeout 1,500 ms; each trigger call 900 ms. The second push waits 900 ms for the first, runs its own
    // trigger for 900 ms more, and its connection is cut at 1,500 ms: its client is told nothing.
    const cut = await server({ timeoutMs: 1000, concurrency: 64 },
      { http: { headersTimeoutMs: 500, requestTimeoutMs: 1000, idleTimeoutMs: 1500, keepAliveTimeoutMs: 500 } });
    try {
      const pool = await newPool(cut);
      await webhook(pool, async (e) => { await delay(900); return { json: e }; }, cut);
      const phone = await guest(pool, cut);
      const tokens = await Promise.all([0, 1].map(() => token(phone)));
      const outcomes = await Promise.allSettled(tokens.map((tok, i) => update(phone, tok, [put(`k${i}`, String(i))])));
      const failed = outcomes.findIndex((o) => o.status === 'rejected');
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      await delay(1200);
      const served = 1 - failed;
      expect(await stored(cut, phone.ref)).toMatchObject({ syncCount: 1, values: { [`k${served}`]: String(served) } });
    } finally {
      await cut.close();
    }
  });

  it('a write that lands while the trigger runs makes the triggered write answer 409, with nothing written', async () => {
    const pool = await newPool();
    const d = await guest(pool);
    await push(d, [put('a', '1')]);
    let interfere = true;
    await webhook(pool, async (e) => {
      if (interfere) {
        interfere = false;
        // The developer writes another key of the same dataset while the trigger decides.
        const dev = clients(t).sync;
        const listed = await dev.send(new ListRecordsCommand(d.ref));
        await dev.send(new UpdateRecordsCommand({ ...d.ref, SyncSessionToken: listed.SyncSessionToken, RecordPatches: [put('z', 'dev')] }));
      }
      return { json: e };
    });
    const tok = await token(d);
    await expectError(update(d, tok, [put('a', '2', 1)]), 'ResourceConflictException', 409, 'changed while its Sync Trigger ran');
    expect(await stored(t, d.ref)).toMatchObject({ syncCount: 2, values: { a: '1', z: 'dev' } });
    // The client re-lists (its token is still good) and pushes again; this time the trigger sees z.
    expect(written(await update(d, tok, [put('a', '2', 1)]))).toEqual({ a: ['2', 3] });
  });
});
