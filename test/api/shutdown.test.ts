import { describe, expect, it } from 'vitest';
import { ListRecordsCommand } from '@aws-sdk/client-cognito-sync';
import { clients, poolWithIdentity, startServer } from '../helpers/server.js';

describe('graceful shutdown', () => {
  it('finishes a request in flight, then refuses new connections and closes the store', async () => {
    const t = await startServer();
    const { poolId, identityId } = await poolWithIdentity(t);
    const { sync } = clients(t);
    const store = t.services.store;
    // Hold the next request inside the server until the test lets it go.
    let release = () => {};
    let entered = () => {};
    const inside = new Promise<void>((resolve) => { entered = resolve; });
    const original = store.getDatasetView.bind(store);
    store.getDatasetView = async (id, name) => {
      entered();
      await new Promise<void>((resolve) => { release = resolve; });
      return original(id, name);
    };
    const inFlight = sync.send(new ListRecordsCommand({ IdentityPoolId: poolId, IdentityId: identityId, DatasetName: 'd' }));
    await inside;
    let closed = false;
    const closing = t.close().then(() => { closed = true; });
    await new Promise((r) => setTimeout(r, 50));
    expect(closed).toBe(false);
    release();
    const answer = await inFlight;
    expect(answer.DatasetExists).toBe(false);
    await closing;
    expect(closed).toBe(true);
    await expect(store.getDataset(identityId, 'd')).rejects.toThrow();
    await expect(sync.send(new ListRecordsCommand({ IdentityPoolId: poolId, IdentityId: identityId, DatasetName: 'd' })))
      .rejects.toThrow();
  });
});
