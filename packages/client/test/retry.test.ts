/**
 * Bounded retries with backoff on 409, 429 and 5xx (faults injected by a server hook before the commit), errors
 * that are not retried, and big datasets: pushes chunked at 1,024 records per UpdateRecords, pulls paged.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { errors, type ServiceError } from '../../../src/api/errors.js';
import { createPool, device, sharedServer } from './support.js';
import { MemoryStore, SyncError } from '../src/index.js';

const faults: Array<() => ServiceError> = [];
const t = sharedServer({
  config: { limits: { maxRecordsPerDataset: 4096, maxDatasetBytes: 4 * 1024 * 1024 } },
  hooks: [{
    name: 'faults',
    beforeUpdateRecords: async () => {
      const fault = faults.shift();
      if (fault) throw fault();
      return undefined;
    },
  }],
});
let poolId: string;

beforeAll(async () => {
  poolId = await createPool(t);
});

async function dirtyDevice(name: string) {
  const d = device(t, poolId, { retry: { attempts: 4, baseDelayMs: 1, maxDelayMs: 5 } });
  const ds = await d.client.openDataset(name);
  await ds.put('k', 'v');
  d.network.reset();
  return { d, ds };
}

describe('retries', () => {
  it('retries 429, 500 and a throttled trigger, then succeeds', async () => {
    const { d, ds } = await dirtyDevice('transient');
    faults.push(
      () => errors.tooManyRequests('Rate exceeded'),
      () => errors.internal('An internal error occurred'),
      () => errors.lambdaThrottled('throttled'),
    );
    const r = await ds.synchronize();
    expect(r.retries).toBe(3);
    expect(r.pushed).toEqual(['k']);
    expect(d.network.counts.UpdateRecords).toBe(4);
    expect(ds.pendingChanges()).toBe(0);
  });

  it('relists and pushes again after a 409', async () => {
    const { d, ds } = await dirtyDevice('conflict-once');
    faults.push(() => errors.conflict('Current SyncCount for: k is: 1 not: 0'));
    const r = await ds.synchronize();
    expect(r.retries).toBe(1);
    expect({ list: d.network.counts.ListRecords, update: d.network.counts.UpdateRecords }).toEqual({ list: 2, update: 2 });
  });

  it('gives up after the configured attempts on endless 409s, keeps the change, and succeeds later', async () => {
    const { d, ds } = await dirtyDevice('conflict-forever');
    for (let i = 0; i < 4; i++) faults.push(() => errors.conflict('Current SyncCount for: k is: 1 not: 0'));
    const failure = await ds.synchronize().then(() => undefined, (e: unknown) => e);
    expect(failure).toBeInstanceOf(SyncError);
    expect((failure as SyncError).reason).toBe('retries-exhausted');
    expect(d.network.counts.UpdateRecords).toBe(4);
    expect(ds.pendingChanges()).toBe(1);
    expect(faults).toHaveLength(0);
    const r = await ds.synchronize();
    expect(r.pushed).toEqual(['k']);
  });

  it('does not retry a refusal that will not change', async () => {
    const { d, ds } = await dirtyDevice('fatal');
    faults.push(() => errors.invalidLambdaFunctionOutput('The trigger answered garbage'));
    const failure = await ds.synchronize().then(() => undefined, (e: unknown) => e);
    expect((failure as SyncError).reason).toBe('rejected');
    expect(d.network.counts.UpdateRecords).toBe(1);
    expect(ds.get('k')).toBe('v');
  });
});

describe('big datasets', () => {
  it('pushes 2,500 records in three UpdateRecords and pulls them in pages on another device', async () => {
    const a = device(t, poolId);
    const ds = await a.client.openDataset('big');
    await Promise.all(Array.from({ length: 2500 }, (_, i) => ds.put(`key-${i}`, `value-${i}`)));
    a.network.reset();
    const pushed = await ds.synchronize();
    expect(pushed.pushed).toHaveLength(2500);
    expect({ list: a.network.counts.ListRecords, update: a.network.counts.UpdateRecords }).toEqual({ list: 3, update: 3 });

    const store = new MemoryStore();
    await store.set(`cosync/${poolId}/identity`, { format: 1, identityId: await a.client.identityId(), authenticated: false });
    const b = device(t, poolId, { store });
    const other = await b.client.openDataset('big');
    b.network.reset();
    const pulled = await other.synchronize();
    expect(pulled.pulled).toHaveLength(2500);
    expect(other.size()).toBe(2500);
    expect(other.get('key-2499')).toBe('value-2499');
    expect({ list: b.network.counts.ListRecords, update: b.network.counts.UpdateRecords }).toEqual({ list: 3, update: 0 });
  });
});
