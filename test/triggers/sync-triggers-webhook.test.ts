/**
 * A webhook trigger end to end: the signed version-2 event it receives, and what its answer does to the write
 * (transform, add, remove, revert, leave out), when it is not called, and the quotas its answer must keep.
 */
import { describe, expect, it } from 'vitest';
import { ListRecordsCommand, UpdateRecordsCommand } from '@aws-sdk/client-cognito-sync';
import { defaultConfig } from '../../src/config.js';
import { clients } from '../helpers/server.js';
import { expectError } from '../api/sync-helpers.js';
import { echo, WEBHOOK_SECRET } from './support.js';
import {
  del, guest, hooks, newPool, push, put, server, stored, t, token, transform, update, useTriggerServer, webhook, written,
} from './harness.js';

useTriggerServer();

describe('a webhook trigger', () => {
  it('receives the version-2 event, signed, with every record of the dataset, and the echo stores the request', async () => {
    const pool = await newPool();
    const d = await guest(pool);
    const name = await webhook(pool, echo);
    await push(d, [put('keep', 'k'), put('change', 'old'), put('drop', 'x'), put('gone', 'g')]);
    await push(d, [del('gone', 1)]);
    const out = await push(d, [put('change', 'new', 1), del('drop', 1), put('fresh', 'f')]);

    const call = hooks.callsFor(name).at(-1)!;
    expect(call.authentic).toBe(true);
    expect(call.headers['content-type']).toBe('application/json');
    expect(call.headers['x-cosync-request-id']).toBeTruthy();
    expect(call.event).toEqual({
      version: 2,
      eventType: 'SyncTrigger',
      region: 'us-east-1',
      identityPoolId: pool,
      identityId: d.identityId,
      datasetName: 'settings',
      datasetRecords: {
        keep: { oldValue: 'k', newValue: 'k', op: 'replace' },
        change: { oldValue: 'old', newValue: 'new', op: 'replace' },
        drop: { oldValue: 'x', newValue: null, op: 'remove' },
        fresh: { oldValue: null, newValue: 'f', op: 'replace' },
      },
    });
    expect(written(out)).toEqual({ change: ['new', 3], drop: [null, 3], fresh: ['f', 3] });
    expect(await stored(t, d.ref)).toMatchObject({ syncCount: 3, values: { keep: 'k', change: 'new', fresh: 'f' } });
  });

  it('a tampered body or another secret does not verify', async () => {
    const pool = await newPool();
    const d = await guest(pool);
    const name = await webhook(pool, echo);
    await push(d, [put('a', '1')]);
    const call = hooks.callsFor(name)[0]!;
    const { verifyWebhookSignature } = await import('../../src/triggers/webhook-signature.js');
    const header = call.headers['x-cosync-signature'] as string;
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64},v2=[0-9a-f]{64}$/);
    expect(verifyWebhookSignature(WEBHOOK_SECRET, header, call.body, Date.now())).toBe(true);
    expect(verifyWebhookSignature(WEBHOOK_SECRET, header, call.body.replace('"1"', '"2"'), Date.now())).toBe(false);
    expect(verifyWebhookSignature('another-secret-0123456789', header, call.body, Date.now())).toBe(false);
    expect(verifyWebhookSignature(WEBHOOK_SECRET, header, call.body, Date.now() + 3_600_000)).toBe(false);
    // v2 covers the request id too: a replay under another id, which a receiver would not recognise, fails it.
    const requestId = call.headers['x-cosync-request-id'] as string;
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(verifyWebhookSignature(WEBHOOK_SECRET, header, call.body, Date.now(), 300, requestId)).toBe(true);
    expect(verifyWebhookSignature(WEBHOOK_SECRET, header, call.body, Date.now(), 300, 'forged-request-id')).toBe(false);
    expect(verifyWebhookSignature(WEBHOOK_SECRET, header.replace(/,v2=.*/, ''), call.body, Date.now(), 300, requestId)).toBe(false);
  });

  it('transforms values: what the trigger answers is stored and answered', async () => {
    const pool = await newPool();
    const d = await guest(pool);
    await webhook(pool, transform((records) => {
      for (const r of Object.values(records)) if (r?.op === 'replace' && r.newValue !== r.oldValue) r.newValue = r.newValue!.trim().toLowerCase();
    }));
    const out = await push(d, [put('email', '  Someone@Example.COM ')]);
    expect(written(out)).toEqual({ email: ['someone@example.com', 1] });
    expect((await stored(t, d.ref)).values).toEqual({ email: 'someone@example.com' });
  });

  it('adds keys and changes untouched records; they take the new count and appear in the answer', async () => {
    const pool = await newPool();
    const d = await guest(pool);
    await push(d, [put('level', '1'), put('coins', '10'), put('name', 'ann')]);
    await webhook(pool, transform((records) => {
      records['coins'] = { oldValue: '10', newValue: '15', op: 'replace' };
      records['audit'] = { oldValue: null, newValue: 'level-up', op: 'replace' };
    }));
    const out = await push(d, [put('level', '2', 1)]);
    expect(written(out)).toEqual({ level: ['2', 2], coins: ['15', 2], audit: ['level-up', 2] });
    const after = await stored(t, d.ref);
    expect(after.values).toEqual({ level: '2', coins: '15', name: 'ann', audit: 'level-up' });
    // The echoed, unchanged record was not rewritten.
    expect(after.counts['name']).toBe(1);
  });

  it('removes by op "remove", by a null newValue and by a null record; a removal of an absent key changes nothing', async () => {
    const pool = await newPool();
    const d = await guest(pool);
    await push(d, [put('a', '1'), put('b', '2'), put('c', '3')]);
    await webhook(pool, transform((records) => {
      records['new'] = { oldValue: 'x', newValue: 'y', op: 'remove' };
      records['a'] = { oldValue: '1', newValue: '1', op: 'remove' };
      records['b']!.newValue = null;
      records['c'] = null;
      records['never'] = null;
    }));
    const out = await push(d, [put('new', 'value')]);
    expect(written(out)).toEqual({ new: [null, 2], a: [null, 2], b: [null, 2], c: [null, 2] });
    expect(await stored(t, d.ref)).toMatchObject({ syncCount: 2, values: {} });
  });

  it('rejects a change by reverting it (the app learns the stored value) or drops it by leaving it out', async () => {
    const pool = await newPool();
    const d = await guest(pool);
    await push(d, [put('score', '10')]);
    await webhook(pool, transform((records) => {
      const score = records['score']!;
      if (Number(score.newValue) > 100) score.newValue = score.oldValue; // cheating: revert
      delete records['banned']; // never stored
    }));
    const reverted = await push(d, [put('score', '9999', 1), put('banned', 'x')]);
    expect(written(reverted)).toEqual({ score: ['10', 2] });
    expect(await stored(t, d.ref)).toMatchObject({ syncCount: 2, values: { score: '10' } });

    // Everything left out: no record is written, the session is used up, and the count still moves by one, since
    // iOS takes count + 1 as its last sync count after any successful push and lists from there next time.
    await webhook(pool, transform((records) => { for (const k of Object.keys(records)) delete records[k]; }));
    const tok = await token(d);
    const none = await update(d, tok, [put('score', '50', 2)]);
    expect(none.Records).toEqual([]);
    expect(await stored(t, d.ref)).toMatchObject({ syncCount: 3, values: { score: '10' }, counts: { score: 2 } });
    await expectError(update(d, tok, [put('score', '50', 2)]), 'InvalidParameterException', 400, 'SyncSessionToken');
    const next = await d.sync.send(new ListRecordsCommand({ ...d.ref, LastSyncCount: 3 }));
    expect(next).toMatchObject({ Records: [], DatasetSyncCount: 3, DatasetExists: true });
  });

  it('moves the count of a dataset it creates empty, when the first push to it is left out whole', async () => {
    const pool = await newPool();
    const d = await guest(pool, t, 'fresh');
    await webhook(pool, transform((records) => { for (const k of Object.keys(records)) delete records[k]; }));
    expect((await push(d, [put('a', '1')])).Records).toEqual([]);
    const listed = await d.sync.send(new ListRecordsCommand({ ...d.ref, LastSyncCount: 1 }));
    expect(listed).toMatchObject({ Records: [], DatasetSyncCount: 1, DatasetExists: true });
  });

  it('is not called for developer credentials, as on AWS', async () => {
    const pool = await newPool();
    const d = await guest(pool);
    const name = await webhook(pool, transform((records) => { records['x'] = { oldValue: null, newValue: 'added', op: 'replace' }; }));
    const dev = clients(t).sync;
    const listed = await dev.send(new ListRecordsCommand(d.ref));
    const out = await dev.send(new UpdateRecordsCommand({ ...d.ref, SyncSessionToken: listed.SyncSessionToken, RecordPatches: [put('a', 'raw')] }));
    expect(written(out)).toEqual({ a: ['raw', 1] });
    expect(hooks.callsFor(name)).toHaveLength(0);
  });

  it('checks counts before calling: a stale patch answers 409 and the trigger is not called', async () => {
    const pool = await newPool();
    const d = await guest(pool);
    const name = await webhook(pool, echo);
    await push(d, [put('a', '1')]);
    expect(hooks.callsFor(name)).toHaveLength(1);
    await expectError(push(d, [put('a', '2', 0)]), 'ResourceConflictException', 409, 'Current SyncCount for: a is: 1 not: 0');
    expect(hooks.callsFor(name)).toHaveLength(1);
  });

  it('applies quotas to what the trigger answers', async () => {
    const small = await server({}, { limits: { ...defaultConfig().limits, maxRecordsPerDataset: 3 } });
    try {
      const pool = await newPool(small);
      const d = await guest(pool, small);
      await webhook(pool, transform((records) => {
        for (const k of ['x1', 'x2', 'x3']) records[k] = { oldValue: null, newValue: k, op: 'replace' };
      }), small);
      const tok = await token(d);
      await expectError(update(d, tok, [put('a', '1')]), 'LimitExceededException', 400, 'would hold 4 records');
      expect((await stored(small, d.ref)).syncCount).toBe(0);
    } finally {
      await small.close();
    }
  });
});
