import { expect } from 'vitest';
import { ServiceError, errors } from '../../src/api/errors.js';
import type { DatasetWriteState } from '../../src/storage/types.js';
import {
  ALL, command, device, identity, peek, putPlan, range, record, sessionOf, utf8, write, type ConformancePart,
} from './conformance.js';

/**
 * The writeRecords part of the SyncStore conformance suite (runStoreConformance calls it): what a plan sees, what a
 * commit stores, sessions consumed only by success, and racing writers serialised.
 */
export const runWriteConformance: ConformancePart = (test, getStore) => {
  test('writeRecords: the first write creates the dataset and its records', async () => {
    const store = getStore();
    const c = command('id-1', 'ds', ['a', 'b']);
    let seen: DatasetWriteState | undefined;
    const planned = putPlan(c, { a: '1', b: '2' }, 5000);
    const result = await store.writeRecords(c, (state) => ((seen = state), planned(state)));
    expect(seen).toEqual({ dataset: undefined, currentRecords: new Map(), liveDatasetCount: 0, sessionConsumed: false });
    expect(result.dataset).toMatchObject({ syncCount: 1, numRecords: 2, dataStorage: 4 });
    expect(await store.getDataset('id-1', 'ds')).toEqual(result.dataset);
    expect(await store.listRecords('id-1', 'ds', ALL, { limit: 10 })).toEqual(result.records);
  });

  test('writeRecords: a plan sees the identity row, or none', async () => {
    const store = getStore();
    await store.createIdentity(identity('id-1', 'pool-a'));
    await store.createIdentity(identity('id-3', 'pool-a', { disabled: true }));
    expect((await peek(store, command('id-1', 'ds', ['a']))).identity).toEqual(identity('id-1', 'pool-a'));
    expect((await peek(store, command('id-3', 'ds', []))).identity).toEqual(identity('id-3', 'pool-a', { disabled: true }));
    expect((await peek(store, command('id-2', 'ds', ['a']))).identity).toBeUndefined();
    await write(store, 'id-1', 'ds', { a: '1' });
    const state = await peek(store, command('id-1', 'ds', ['a']));
    expect(state.identity).toEqual(identity('id-1', 'pool-a'));
    expect(state.dataset).toMatchObject({ identityId: 'id-1', datasetName: 'ds', syncCount: 1 });
  });

  test('writeRecords: a plan sees prior commits (records, sizes, dataset count)', async () => {
    const store = getStore();
    await write(store, 'id-1', 'one', { a: 'x', é: 'ü', t: 'gone' });
    await write(store, 'id-1', 'one', { t: null });
    const state = await peek(store, command('id-1', 'one', ['a', 'é', 't', 'new']));
    expect(state.dataset).toMatchObject({ syncCount: 2, numRecords: 2, dataStorage: 6, deleted: false });
    expect(state.currentRecords).toEqual(new Map([
      ['a', { syncCount: 1, bytes: 2, live: true }],
      ['é', { syncCount: 1, bytes: 4, live: true }],
      ['t', { syncCount: 2, bytes: 0, live: false }],
    ]));
    expect(state.liveDatasetCount).toBe(1);
    expect((await peek(store, command('id-1', 'two', ['a']))).liveDatasetCount).toBe(1);
    await write(store, 'id-1', 'two', { a: '1' });
    expect((await peek(store, command('id-1', 'two', ['a']))).liveDatasetCount).toBe(2);
    expect((await peek(store, command('id-2', 'one', ['a']))).liveDatasetCount).toBe(0);
  });

  test('writeRecords: a throwing plan writes nothing and leaves the session unconsumed', async () => {
    const store = getStore();
    await write(store, 'id-1', 'ds', { a: '1' });
    const before = await store.getDataset('id-1', 'ds');
    const c = command('id-1', 'ds', ['a']);
    const error = errors.conflict('Current SyncCount for: a is: 1 not: 0');
    await expect(store.writeRecords(c, () => { throw error; })).rejects.toBe(error);
    expect(await store.getDataset('id-1', 'ds')).toEqual(before);
    expect((await store.listRecords('id-1', 'ds', ALL, { limit: 10 })).map((r) => r.value)).toEqual(['1']);
    expect((await peek(store, c)).sessionConsumed).toBe(false);
    expect(await store.isSessionConsumed(c.identityId, sessionOf(c))).toBe(false);
  });

  test('writeRecords: a consumed session is visible to the next plan and to isSessionConsumed', async () => {
    const store = getStore();
    const c = command('id-1', 'ds', ['a']);
    expect(await store.isSessionConsumed(c.identityId, sessionOf(c))).toBe(false);
    await store.writeRecords(c, putPlan(c, { a: '1' }));
    expect(await store.isSessionConsumed(c.identityId, sessionOf(c))).toBe(true);
    expect((await peek(store, c)).sessionConsumed).toBe(true);
    expect((await peek(store, command('id-1', 'ds', ['a']))).sessionConsumed).toBe(false);
  });

  test('writeRecords: a no-op plan writes nothing but consumes the session', async () => {
    const store = getStore();
    const c = command('id-1', 'ds', ['a']);
    const noop = { dataset: undefined, records: [] };
    expect(await store.writeRecords(c, () => noop)).toBe(noop);
    expect(await store.getDataset('id-1', 'ds')).toBeUndefined();
    expect((await peek(store, c)).sessionConsumed).toBe(true);
  });

  test('writeRecords: a plan may move the dataset count without writing a record', async () => {
    const store = getStore();
    await write(store, 'id-1', 'ds', { a: '1' });
    const c = command('id-1', 'ds', []);
    expect((await store.writeRecords(c, putPlan(c, {}, 2000))).records).toEqual([]);
    expect(await store.getDataset('id-1', 'ds')).toMatchObject({ syncCount: 2, numRecords: 1, dataStorage: 2, lastModifiedAt: 2000 });
    expect((await store.listRecords('id-1', 'ds', ALL, { limit: 10 })).map((r) => [r.key, r.syncCount])).toEqual([['a', 1]]);
    expect(await store.isSessionConsumed(c.identityId, sessionOf(c))).toBe(true);
    const fresh = command('id-1', 'fresh', []);
    await store.writeRecords(fresh, putPlan(fresh, {}));
    expect(await store.getDataset('id-1', 'fresh')).toMatchObject({ syncCount: 1, numRecords: 0, dataStorage: 0, deleted: false });
    expect((await peek(store, command('id-1', 'other', []))).liveDatasetCount).toBe(2);
  });

  test('writeRecords: tombstones are stored and listed', async () => {
    const store = getStore();
    await write(store, 'id-1', 'ds', { a: '1', b: '2' });
    await write(store, 'id-1', 'ds', { a: null });
    expect(await store.listRecords('id-1', 'ds', ALL, { limit: 10 })).toEqual([
      record('b', '2', 1), record('a', null, 2),
    ]);
    expect(await store.getDataset('id-1', 'ds')).toMatchObject({ syncCount: 2, numRecords: 1, dataStorage: 2 });
  });

  test('records: keys and values keep any text (U+0000, multi-byte), listed in byte order of the keys', async () => {
    const store = getStore();
    const values = { 'b': 'nul \u0000 inside', 'a\u0000z': 'x', 'ключ': '値 😀', 'Z': '', 'é': 'ü' };
    await write(store, 'id-1', 'ds', values);
    const listed = await store.listRecords('id-1', 'ds', ALL, { limit: 10 });
    const byteOrder = Object.keys(values).sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect(listed.map((r) => r.key)).toEqual(byteOrder);
    expect(Object.fromEntries(listed.map((r) => [r.key, r.value]))).toEqual(values);
    const state = await peek(store, command('id-1', 'ds', ['a\u0000z', 'ключ', 'a']));
    expect(state.currentRecords).toEqual(new Map([
      ['a\u0000z', { syncCount: 1, bytes: 4, live: true }], ['ключ', { syncCount: 1, bytes: utf8('ключ') + utf8('値 😀'), live: true }],
    ]));
    expect(await store.getDataset('id-1', 'ds')).toMatchObject({
      numRecords: 5, dataStorage: Object.entries(values).reduce((n, [k, v]) => n + utf8(k) + utf8(v), 0),
    });
  });

  test('records: keys of 1,024 four-byte characters (4 KB of UTF-8) are written, found, listed in order and replaced', async () => {
    const store = getStore();
    // 1,024 characters is the model's longest key; four UTF-8 bytes each is far beyond a btree entry's limit.
    const long = (first: number) => Array.from({ length: 1024 }, (_, i) => String.fromCodePoint(first + ((i * 7919) % 4096))).join('');
    const [k1, k2] = [long(0x1f300), long(0x20000)];
    expect(utf8(k1)).toBe(4096);
    await write(store, 'id-1', 'ds', { [k2]: 'second', [k1]: 'first', short: 's' });
    const listed = await store.listRecords('id-1', 'ds', ALL, { limit: 10 });
    expect(listed.map((r) => r.key)).toEqual(['short', k1, k2]);
    expect((await peek(store, command('id-1', 'ds', [k1, k2]))).currentRecords).toEqual(new Map([
      [k1, { syncCount: 1, bytes: 4096 + 5, live: true }], [k2, { syncCount: 1, bytes: 4096 + 6, live: true }],
    ]));
    await write(store, 'id-1', 'ds', { [k1]: 'replaced', [k2]: null });
    const after = await store.listRecords('id-1', 'ds', ALL, { limit: 10 });
    expect(after.map((r) => [r.key, r.value, r.syncCount])).toEqual([['short', 's', 1], [k1, 'replaced', 2], [k2, null, 2]]);
    // Keyset paging resumes after a long key.
    const page = await store.listRecords('id-1', 'ds', ALL, { after: { syncCount: 2, key: k1 }, limit: 10 });
    expect(page.map((r) => r.key)).toEqual([k2]);
  });

  test('registerDevice: a push token of 4 KB is registered once', async () => {
    const store = getStore();
    await store.createIdentity(identity('id-1', 'pool-a'));
    const token = '\u{1f4f1}'.repeat(1024);
    const first = { ...device('dev-1', 'id-1'), token };
    expect(await store.registerDevice(first)).toEqual(first);
    expect(await store.registerDevice({ ...device('dev-2', 'id-1'), token })).toEqual(first);
  });

  test('writeRecords: racing writers that require a new dataset, exactly one wins', async () => {
    const store = getStore();
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => {
      const c = command('id-1', 'ds', ['k']);
      const planned = putPlan(c, { k: `writer-${i}` });
      return store.writeRecords(c, (state) => {
        const count = state.dataset?.syncCount ?? 0;
        if (count !== 0) throw errors.conflict(`Current SyncCount for: k is: ${count} not: 0`);
        return planned(state);
      });
    }));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.filter((r) => r.status === 'rejected');
    expect(rejected).toHaveLength(19);
    for (const r of rejected) expect((r.reason as ServiceError).code).toBe('ResourceConflictException');
    expect((await store.getDataset('id-1', 'ds'))?.syncCount).toBe(1);
  });

  test('writeRecords: racing read-and-increment writers are serialised', async () => {
    const store = getStore();
    const results = await Promise.all(Array.from({ length: 20 }, () => {
      const c = command('id-1', 'ds', ['n']);
      return store.writeRecords(c, (state) => putPlan(c, { n: String((state.dataset?.syncCount ?? 0) + 1) })(state));
    }));
    expect(results.map((r) => r.dataset?.syncCount).sort((a, b) => a! - b!)).toEqual(range(1, 20));
    expect(await store.getDataset('id-1', 'ds')).toMatchObject({ syncCount: 20, numRecords: 1 });
    expect((await store.listRecords('id-1', 'ds', ALL, { limit: 10 }))[0]).toMatchObject({ value: '20', syncCount: 20 });
  });

  test('writeRecords: a failing command does not undo the others written alongside', async () => {
    const store = getStore();
    const outcomes = await Promise.allSettled(range(0, 5).map((i) => {
      const c = command('id-1', `ds-${i}`, ['k']);
      return store.writeRecords(c, (state) => {
        if (i % 2 === 1) throw errors.conflict(`odd ${i}`);
        return putPlan(c, { k: 'v' })(state);
      });
    }));
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled', 'rejected']);
    expect((await store.listDatasets('id-1', { limit: 10 })).map((d) => d.datasetName)).toEqual(['ds-0', 'ds-2', 'ds-4']);
  });

  test('pruneConsumedSessions forgets only expired markers', async () => {
    const store = getStore();
    const early = command('id-1', 'ds', [], { sessionExpiresAt: 100 });
    const late = command('id-1', 'ds', [], { sessionExpiresAt: 200 });
    for (const c of [early, late]) await store.writeRecords(c, () => ({ dataset: undefined, records: [] }));
    expect(await store.pruneConsumedSessions(150)).toBe(1);
    expect((await peek(store, early)).sessionConsumed).toBe(false);
    expect((await peek(store, late)).sessionConsumed).toBe(true);
    expect(await store.isSessionConsumed(early.identityId, sessionOf(early))).toBe(false);
    expect(await store.pruneConsumedSessions(150)).toBe(0);
  });
};
