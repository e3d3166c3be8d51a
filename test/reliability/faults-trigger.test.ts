import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListRecordsCommand, SetCognitoEventsCommand, UpdateRecordsCommand } from '@aws-sdk/client-cognito-sync';
import { CreateIdentityPoolCommand } from '@aws-sdk/client-cognito-identity';
import { defaultConfig } from '../../src/config.js';
import { clients, startServer, type TestServer } from '../helpers/server.js';
import { expectError } from '../api/sync-helpers.js';
import { poolCredentials, syncClient } from '../identity/support.js';
import { WEBHOOK_SECRET } from '../triggers/support.js';
import { DatasetWriter, readDataset, seededRandom, sleep } from './support.js';

/**
 * A Sync Trigger whose target hangs: a webhook host that accepts the connection, reads the request and never
 * answers. Each UpdateRecords of its pool must answer LambdaSocketTimeoutException (504) after the configured
 * timeout, write nothing and leave its session token usable; identities of other pools keep writing meanwhile;
 * afterwards no call is left in flight and every connection to the hung host has been closed by the server.
 */

const TIMEOUT_MS = 400;

/** Accepts connections, swallows what they send, never answers. Counts the connections still open. */
async function startBlackHole(): Promise<{ url: string; open(): number; accepted(): number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: Server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('data', () => {});
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/hook`,
    open: () => sockets.size,
    accepted: () => accepted,
    close: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

describe('a Sync Trigger that never answers', () => {
  let hole: Awaited<ReturnType<typeof startBlackHole>>;
  let t: TestServer;

  beforeAll(async () => {
    hole = await startBlackHole();
    t = await startServer({
      config: {
        syncTriggers: {
          ...defaultConfig().syncTriggers,
          timeoutMs: TIMEOUT_MS,
          webhook: { allowedHosts: ['127.0.0.1'], signingSecret: WEBHOOK_SECRET },
        },
      },
    });
  });
  afterAll(async () => {
    await t?.close();
    await hole?.close();
  });

  async function guests(poolName: string, count: number, seed: number) {
    const { identity } = clients(t);
    const { IdentityPoolId } = await identity.send(new CreateIdentityPoolCommand({
      IdentityPoolName: poolName, AllowUnauthenticatedIdentities: true,
    }));
    const random = seededRandom(seed);
    return {
      poolId: IdentityPoolId!,
      devices: await Promise.all(Array.from({ length: count }, async () => {
        const provider = poolCredentials(t, IdentityPoolId!);
        const { identityId } = (await provider()) as { identityId: string };
        const writer = new DatasetWriter({ IdentityPoolId: IdentityPoolId!, IdentityId: identityId, DatasetName: 'settings' }, random);
        return { sync: syncClient(t, provider), writer };
      })),
    };
  }

  it('answers LambdaSocketTimeoutException, writes nothing, and leaves other pools and the server unaffected', async () => {
    const hung = await guests('hung_pool', 4, 11);
    const other = await guests('other_pool', 4, 12);
    for (const d of [...hung.devices, ...other.devices]) await d.writer.push(d.sync);
    await clients(t).sync.send(new SetCognitoEventsCommand({ IdentityPoolId: hung.poolId, Events: { SyncTrigger: hole.url } }));

    // The other pool's devices write in a loop while the hung pool's writes wait for their trigger.
    let stopped = false;
    const otherLoad = Promise.all(other.devices.map(async (d) => {
      while (!stopped) await d.writer.push(d.sync);
    }));
    const attempts = await Promise.all(hung.devices.map(async (d) => {
      const ref = d.writer.ref;
      const { SyncSessionToken } = await d.sync.send(new ListRecordsCommand(ref));
      const write = () => d.sync.send(new UpdateRecordsCommand({
        ...ref, SyncSessionToken, RecordPatches: [{ Op: 'replace', Key: 'hung', Value: 'never', SyncCount: 0 }],
      }));
      for (let i = 0; i < 2; i++) {
        await expectError(write(), 'LambdaSocketTimeoutException', 504, `did not answer within ${TIMEOUT_MS} ms`);
      }
      return write;
    }));
    const othersAckedDuringHang = other.devices.reduce((n, d) => n + d.writer.acks, 0) - other.devices.length;
    stopped = true;
    await otherLoad;

    expect(hole.accepted()).toBeGreaterThanOrEqual(hung.devices.length);
    expect(othersAckedDuringHang).toBeGreaterThan(0);
    expect(t.services.triggers.callsInFlight).toBe(0);
    // The server gave up on every call: no connection to the hung host stays open.
    for (let i = 0; i < 50 && hole.open() > 0; i++) await sleep(20);
    expect(hole.open()).toBe(0);

    const developer = clients(t).sync;
    for (const d of [...hung.devices, ...other.devices]) await d.writer.verify(developer);
    for (const d of hung.devices) expect((await readDataset(developer, d.writer.ref)).records['hung']).toBeUndefined();

    // Nothing was consumed: with the trigger removed, the same session tokens commit.
    await developer.send(new SetCognitoEventsCommand({ IdentityPoolId: hung.poolId, Events: { SyncTrigger: '' } }));
    for (const write of attempts) expect((await write()).Records?.[0]).toMatchObject({ Key: 'hung', Value: 'never', SyncCount: 2 });
  });
});
