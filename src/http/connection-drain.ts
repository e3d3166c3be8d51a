import type { Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { HttpTimeouts } from '../config.js';
import type { Logger } from '../logger.js';

/**
 * How often a graceful stop still waiting for clients says so. A stop may wait up to the request timeout (60 s by
 * default) for slow clients; silent, it looks hung. A stop that ends sooner logs nothing of its own.
 */
export const DRAIN_REPORT_EVERY_MS = 5000;

/**
 * The connections a server holds, so that its shutdown can end the ones nobody else will.
 *
 * Once close() begins, node:http stops enforcing its header and request deadlines (it stops checking connections),
 * and only the idle timeout is left, which every trickled byte resets: a client that never finished its headers
 * could hold the shutdown open for ever. Fastify ends idle keep-alive connections at close, and answers in flight
 * end theirs ("Connection: close"); what remains is a connection with no request under way (nothing sent yet, or
 * headers still arriving) and requests that are slow to arrive. The first are given the headers timeout, the
 * second the request timeout, as they would have been while the server ran.
 */
export function trackConnections(server: Server) {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return {
    /**
     * Starts the shutdown deadlines, and a line on `log` every `reportEveryMs` while connections remain; call the
     * function it returns once the server has closed, which ends both and, if anything was logged, says so.
     */
    drain(
      timeouts: Pick<HttpTimeouts, 'headersTimeoutMs' | 'requestTimeoutMs'>,
      log: Logger,
      reportEveryMs = DRAIN_REPORT_EVERY_MS,
    ): () => void {
      const started = Date.now();
      let reported = false;
      /** What the stop still waits for: requests under way, and every open connection (those included). */
      const waitingFor = () => ({
        pid: process.pid,
        requests: [...sockets].filter(hasRequestUnderWay).length,
        connections: sockets.size,
        waitedMs: Date.now() - started,
      });
      const report = setInterval(() => {
        if (sockets.size === 0) return;
        reported = true;
        log.info(waitingFor(), 'shutdown: still waiting for clients');
      }, reportEveryMs);
      // Reports alone must never keep a stopping process alive.
      report.unref();
      const headers = setTimeout(() => {
        for (const socket of sockets) if (!hasRequestUnderWay(socket)) socket.destroy();
      }, Math.min(timeouts.headersTimeoutMs, timeouts.requestTimeoutMs));
      const requests = setTimeout(() => {
        if (sockets.size > 0) {
          reported = true;
          log.warn(waitingFor(), 'shutdown: request timeout reached; closing the connections still open');
        }
        server.closeAllConnections();
      }, timeouts.requestTimeoutMs);
      return () => {
        clearInterval(report);
        clearTimeout(headers);
        clearTimeout(requests);
        if (reported) log.info({ pid: process.pid, waitedMs: Date.now() - started }, 'shutdown: no connections left');
      };
    },
  };
}

function hasRequestUnderWay(socket: Socket): boolean {
  return attachedResponse(socket) !== undefined;
}

/**
 * The response node:http has attached to a socket: from the moment a request's headers are parsed until its response
 * is finished (`_httpMessage`, stable since Node 0.x though not documented; node:http's own clientError handling
 * consults it). Of pipelined requests, the first unanswered one's.
 */
export function attachedResponse(socket: Duplex): ServerResponse | undefined {
  return (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage ?? undefined;
}
