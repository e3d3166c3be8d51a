import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ListRecordsCommand, UpdateRecordsCommand } from '@aws-sdk/client-cognito-sync';
import { defaultConfig } from '../../src/config.js';
import { clients, poolWithIdentity, startServer } from '../helpers/server.js';
import { datasetPath, signRequest } from '../wire/raw-http.js';

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

  // node:http stops enforcing its header and request deadlines once close() begins: without deadlines of its own,
  // a connection that never finished its headers held the shutdown open until it went away.
  it('ends connections that have not sent a whole request header after the headers timeout', async () => {
    const http = { ...defaultConfig().http, headersTimeoutMs: 300, requestTimeoutMs: 900 };
    const t = await startServer({ config: { http } });
    const { port } = new URL(t.endpoint);
    const open = async (first?: string): Promise<Socket> => {
      const socket = connect(Number(port), '127.0.0.1');
      socket.on('error', () => {}); // the server resets it; that is the point
      await new Promise((resolve) => socket.once('connect', resolve));
      if (first) socket.write(first);
      return socket;
    };
    const silent = await open();
    const trickling = await open('POST / HTTP/1.1\r\nHost: x\r\n');
    const trickle = setInterval(() => trickling.write('X-a: b\r\n'), 50);
    const closedAt = (socket: Socket) => new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));
    const ends = [silent, trickling].map(closedAt);
    const start = Date.now();
    await t.close();
    clearInterval(trickle);
    for (const end of await Promise.all(ends)) {
      expect(end - start).toBeGreaterThanOrEqual(250);
      expect(end - start).toBeLessThan(880);
    }
  });

  // node:http's close() destroys every connection whose answer has been ended, although the socket may still hold
  // most of it unsent (closeIdleConnections looks at `finished`): a client reading slowly got a 200 cut short.
  it('sends the whole of an answer a slow reader is still receiving when the server closes', async () => {
    const t = await startServer();
    const { poolId, identityId } = await poolWithIdentity(t);
    const { sync } = clients(t);
    const ref = { IdentityPoolId: poolId, IdentityId: identityId, DatasetName: 'big' };
    const { SyncSessionToken } = await sync.send(new ListRecordsCommand(ref));
    // U+0001 is six bytes in JSON: a dataset within its 1 MB answers about 6 MB, more than loopback buffers hold.
    const value = '\u0001'.repeat(240_000);
    await sync.send(new UpdateRecordsCommand({
      ...ref, SyncSessionToken,
      RecordPatches: ['a', 'b', 'c', 'd'].map((Key) => ({ Op: 'replace', Key, Value: value, SyncCount: 0 })),
    }));
    const path = `${datasetPath(poolId, identityId, 'big')}/records`;
    const headers = await signRequest(t, 'GET', path, {}, {}, Buffer.alloc(0), {});
    const { port, host } = new URL(t.endpoint);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.pause();
    socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\n` +
      Object.entries(headers).filter(([n]) => n.toLowerCase() !== 'host').map(([n, v]) => `${n}: ${v}\r\n`).join('') + '\r\n');
    await new Promise((r) => setTimeout(r, 300));
    const closing = t.close();
    await new Promise((r) => setTimeout(r, 100));
    const chunks: Buffer[] = [];
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', () => {});
    const ended = new Promise((resolve) => socket.once('close', resolve));
    socket.resume();
    await ended;
    await closing;
    const received = Buffer.concat(chunks);
    const headerEnd = received.indexOf('\r\n\r\n');
    const head = received.subarray(0, headerEnd).toString('latin1');
    expect(head).toMatch(/^HTTP\/1\.1 200 /);
    const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1]);
    expect(length).toBeGreaterThan(5_000_000);
    expect(received.length - headerEnd - 4).toBe(length);
  });

  it('serves a request that reaches it while it closes, and ends that connection after the answer', async () => {
    const t = await startServer();
    const { poolId } = await poolWithIdentity(t);
    const socket = connect(Number(new URL(t.endpoint).port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    let response = '';
    socket.on('data', (d: Buffer) => { response += d.toString(); });
    const ended = new Promise((resolve) => socket.once('close', resolve));
    const body = JSON.stringify({ IdentityPoolId: poolId });
    socket.write('POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSCognitoIdentityService.GetId\r\n'
      + `Content-Type: application/x-amz-json-1.1\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    await t.close();
    await ended;
    expect(response).toMatch(/^HTTP\/1\.1 200 /);
    expect(response).toMatch(/\r\nconnection: close\r\n/i);
    expect(response).toContain('"IdentityId"');
  });
});
