/**
 * What a graceful stop says while clients hold it open (src/http/connection-drain.ts): a line per interval with the
 * requests and connections it still waits for, one when the request timeout cuts them off, one when none are left,
 * and nothing at all when nothing holds it. Intervals are short here; no assertion depends on how many pass.
 */
import { createServer, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { trackConnections } from '../../src/http/connection-drain.js';

interface Line { level: number; msg: string; requests?: number; connections?: number; waitedMs?: number }

const open: Array<{ server: Server; sockets: Socket[] }> = [];
afterEach(() => {
  for (const { server, sockets } of open.splice(0)) {
    for (const s of sockets) s.destroy();
    server.closeAllConnections();
  }
});

/** A server whose handler never answers, its connections tracked, and clients that each send `sends[i]`. */
async function serverWithClients(...sends: string[]) {
  const server = createServer(() => {});
  const connections = trackConnections(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const accepted = new Promise<void>((resolve) => {
    let n = 0;
    server.on('connection', () => { if (++n === sends.length) resolve(); });
  });
  const sockets = await Promise.all(sends.map((text) => new Promise<Socket>((resolve) => {
    const socket = connect(port, '127.0.0.1', () => { socket.write(text); resolve(socket); });
    socket.on('error', () => {});
  })));
  if (sends.length > 0) await accepted;
  open.push({ server, sockets });
  const lines: Line[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Line) });
  /** Closes the server as Cosync's close() does: drain, close, then end the drain. */
  const stop = (timeouts: { headersTimeoutMs: number; requestTimeoutMs: number }, everyMs?: number) => {
    const stopDraining = connections.drain(timeouts, log, everyMs);
    return new Promise<void>((resolve) => server.close(() => resolve())).then(stopDraining);
  };
  return { sockets, lines, stop };
}

async function until(what: string, probe: () => boolean, ms = 10_000): Promise<void> {
  for (const start = Date.now(); !probe(); await new Promise((r) => setTimeout(r, 10))) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
  }
}

/** A request whose body never comes: under way until the client or the request timeout ends it. */
const SLOW_BODY = 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc';
/** Headers that never end: a connection with no request under way yet. */
const SLOW_HEADERS = 'POST / HTTP/1.1\r\nHo';

describe('a graceful stop held open by clients', () => {
  it('says, every interval, how many requests and connections it still waits for, then that none are left', async () => {
    const { sockets, lines, stop } = await serverWithClients(SLOW_BODY, SLOW_HEADERS);
    const stopped = stop({ headersTimeoutMs: 60_000, requestTimeoutMs: 60_000 }, 20);
    await until('two waiting lines', () => lines.length >= 2);
    expect(lines.slice(0, 2)).toEqual([
      expect.objectContaining({ level: 30, msg: 'shutdown: still waiting for clients', requests: 1, connections: 2 }),
      expect.objectContaining({ msg: 'shutdown: still waiting for clients', requests: 1, connections: 2 }),
    ]);
    for (const s of sockets) s.destroy();
    await stopped;
    expect(lines.at(-1)).toMatchObject({ level: 30, msg: 'shutdown: no connections left' });
    expect(lines.at(-1)!.waitedMs).toBeGreaterThanOrEqual(lines[1]!.waitedMs!);
  });

  it('says so when the request timeout cuts off what is left', async () => {
    const { lines, stop } = await serverWithClients(SLOW_BODY);
    await stop({ headersTimeoutMs: 100, requestTimeoutMs: 200 }, 60_000);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 40, msg: 'shutdown: request timeout reached; closing the connections still open', requests: 1, connections: 1,
      }),
      expect.objectContaining({ level: 30, msg: 'shutdown: no connections left' }),
    ]);
  });

  it('logs nothing when nothing holds it', async () => {
    const { lines, stop } = await serverWithClients();
    await stop({ headersTimeoutMs: 60_000, requestTimeoutMs: 60_000 });
    expect(lines).toEqual([]);
  });
});
