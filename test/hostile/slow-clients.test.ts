/**
 * Slow and stalled clients (slowloris): a client that trickles its headers, never finishes its body, or opens a
 * connection and says nothing is closed by the server once the HTTP edge's timeouts pass (config.http), and many
 * such clients at once do not stop normal requests from being served. The server's timeouts are set short here;
 * each wait below is bounded many times longer than the timeout it checks, so a server that never closes fails the
 * test instead of hanging it, and no assertion depends on timing.
 */
import { connect, type Socket } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { ListDatasetsCommand } from '@aws-sdk/client-cognito-sync';
import { clients, poolWithIdentity, startServer, type TestServer } from '../helpers/server.js';
import { sharedServer } from '../helpers/shared-server.js';

const TIMEOUTS = { headersTimeoutMs: 400, requestTimeoutMs: 800, idleTimeoutMs: 5000, keepAliveTimeoutMs: 400 };
/** How long a test waits for the server to close a connection before calling it a failure. */
const CLOSE_WAIT_MS = 8000;
/** Trickle interval: shorter than the idle timeout, so only the header/request deadlines can close the socket. */
const TRICKLE_MS = 100;

const t = sharedServer({ config: { http: TIMEOUTS } });
let port: number;
let poolId: string;
let identityId: string;

beforeAll(async () => {
  port = Number(new URL(t.endpoint).port);
  ({ poolId, identityId } = await poolWithIdentity(t));
});

interface SlowClient {
  readonly socket: Socket;
  /** Everything the server sent, as text. */
  received(): string;
  isOpen(): boolean;
  /** Resolves true when the server closes the connection, false if it is still open after `ms`. */
  closedWithin(ms: number): Promise<boolean>;
  /** Writes `chunk` every TRICKLE_MS until the socket closes. */
  trickle(chunk: string): void;
  destroy(): void;
}

function openSlowClient(serverPort = port): Promise<SlowClient> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: serverPort });
    let text = '';
    let closed = false;
    let timer: NodeJS.Timeout | undefined;
    const waiters: Array<() => void> = [];
    socket.on('data', (chunk: Buffer) => { text += chunk.toString('latin1'); });
    socket.on('error', () => {});
    socket.on('close', () => {
      closed = true;
      clearInterval(timer);
      for (const w of waiters) w();
    });
    socket.once('connect', () => resolve({
      socket,
      received: () => text,
      isOpen: () => !closed,
      closedWithin: (ms) => new Promise((done) => {
        if (closed) return done(true);
        const timeout = setTimeout(() => done(false), ms);
        waiters.push(() => { clearTimeout(timeout); done(true); });
      }),
      trickle: (chunk) => {
        timer = setInterval(() => { if (!closed) socket.write(chunk); }, TRICKLE_MS);
      },
      destroy: () => { clearInterval(timer); socket.destroy(); },
    }));
    socket.once('error', reject);
  });
}

const listPath = () => `/identitypools/${encodeURIComponent(poolId)}/identities/${encodeURIComponent(identityId)}/datasets`;

async function openConnections(server: TestServer): Promise<number> {
  return new Promise((resolve, reject) => server.server.app.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
}

/** True once the server holds no connection, false if some are still open after CLOSE_WAIT_MS. */
async function connectionsDrain(server: TestServer): Promise<boolean> {
  return connectionsDrainTo(server, 0);
}

/** True once the server has at most `left` connections open, false if it still has more after CLOSE_WAIT_MS. */
async function connectionsDrainTo(server: TestServer, left: number): Promise<boolean> {
  const deadline = Date.now() + CLOSE_WAIT_MS;
  while (Date.now() < deadline) {
    if (await openConnections(server) <= left) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}

describe('slow clients are timed out', () => {
  it('headers trickled one line at a time: closed after the headers timeout', async () => {
    const c = await openSlowClient();
    c.socket.write(`GET ${listPath()} HTTP/1.1\r\nHost: 127.0.0.1\r\n`);
    c.trickle('X-Slow: a\r\n');
    expect(await c.closedWithin(CLOSE_WAIT_MS)).toBe(true);
    expect(c.received()).toMatch(/^HTTP\/1\.1 408 /);
    // AWS-shaped, and a code the SDKs retry as transient.
    expect(c.received()).toMatch(/\r\nx-amzn-ErrorType: RequestTimeoutException\r\n/);
    expect(c.received()).toMatch(/\r\nx-amzn-RequestId: [0-9a-f-]{36}\r\n/);
    expect(c.received()).toContain('"__type":"RequestTimeoutException"');
    // As every other answer: Date (the SDKs correct their clock from it) and CORS (a browser app sees the error).
    expect(c.received()).toMatch(/\r\nDate: \w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT\r\n/);
    expect(c.received()).toMatch(/\r\nAccess-Control-Allow-Origin: \*\r\n/);
  });

  it('body never finished: closed after the request timeout', async () => {
    const c = await openSlowClient();
    c.socket.write(`POST ${listPath()}/slow HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
      'Content-Length: 100000\r\n\r\n{"RecordPatches":[');
    c.trickle(' ');
    expect(await c.closedWithin(CLOSE_WAIT_MS)).toBe(true);
    expect(c.received()).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('a connection that sends nothing: closed', async () => {
    const c = await openSlowClient();
    expect(await c.closedWithin(CLOSE_WAIT_MS)).toBe(true);
  });

  it('a keep-alive connection idle after its answer: closed after the keep-alive timeout', async () => {
    const c = await openSlowClient();
    c.socket.write('GET /.well-known/openid-configuration HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    expect(await c.closedWithin(CLOSE_WAIT_MS)).toBe(true);
    expect(c.received()).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('many stalled connections do not stop normal requests, and all of them are let go', async () => {
    // A server whose deadlines are long enough that every stalled connection is surely still open while the normal
    // requests are served.
    const t2 = await startServer({ config: { http: { headersTimeoutMs: 4000, requestTimeoutMs: 5000, idleTimeoutMs: 6000, keepAliveTimeoutMs: 500 } } });
    const port2 = Number(new URL(t2.endpoint).port);
    const stalled = await Promise.all(Array.from({ length: 150 }, async (_, i) => {
      const c = await openSlowClient(port2);
      if (i % 3 === 0) {
        c.socket.write(`GET ${listPath()} HTTP/1.1\r\nHost: 127.0.0.1\r\n`);
        c.trickle('X-Slow: a\r\n');
      } else if (i % 3 === 1) {
        c.socket.write(`POST ${listPath()}/slow HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n{`);
        c.trickle(' ');
      }
      return c;
    }));
    try {
      const ids = await poolWithIdentity(t2);
      const sync = clients(t2).sync;
      const answers = await Promise.all(Array.from({ length: 20 }, () =>
        sync.send(new ListDatasetsCommand({ IdentityPoolId: ids.poolId, IdentityId: ids.identityId }))));
      expect(answers.every((a) => a.$metadata.httpStatusCode === 200)).toBe(true);
      expect(stalled.filter((c) => c.isOpen()).length, 'stalled connections open while normal requests were served').toBe(150);
      const closed = await Promise.all(stalled.map((c) => c.closedWithin(CLOSE_WAIT_MS)));
      expect(closed.filter((x) => !x).length).toBe(0);
      // Nothing is left holding a socket on the server side once the client's own keep-alive sockets are gone.
      sync.destroy();
      expect(await connectionsDrain(t2)).toBe(true);
    } finally {
      for (const c of stalled) c.destroy();
      await t2.close();
    }
  });
});

describe('a cap on connections (--max-connections)', () => {
  it('closes a connection beyond the cap at once, and serves again once one is gone', async () => {
    // Default timeouts: an idle connection stays open far longer than CLOSE_WAIT_MS unless the cap closes it.
    const capped = await startServer({ config: { maxConnections: 3 } });
    const cappedPort = Number(new URL(capped.endpoint).port);
    const held = await Promise.all(Array.from({ length: 3 }, () => openSlowClient(cappedPort)));
    try {
      const beyond = await openSlowClient(cappedPort);
      expect(await beyond.closedWithin(CLOSE_WAIT_MS), 'the fourth connection is closed').toBe(true);
      expect(beyond.received()).toBe('');
      expect(held.every((c) => c.isOpen())).toBe(true);
      // The SDK clients below open two connections of their own.
      for (const c of held.slice(0, 2)) c.destroy();
      expect(await connectionsDrainTo(capped, 1)).toBe(true);
      const ids = await poolWithIdentity(capped);
      const answer = await clients(capped).sync.send(new ListDatasetsCommand({ IdentityPoolId: ids.poolId, IdentityId: ids.identityId }));
      expect(answer.$metadata.httpStatusCode).toBe(200);
    } finally {
      for (const c of held) c.destroy();
      await capped.close();
    }
  });
});
