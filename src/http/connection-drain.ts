import type { Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { HttpTimeouts } from '../config.js';

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
    /** Starts the shutdown deadlines; call the function it returns once the server has closed. */
    drain(timeouts: Pick<HttpTimeouts, 'headersTimeoutMs' | 'requestTimeoutMs'>): () => void {
      const headers = setTimeout(() => {
        for (const socket of sockets) if (!hasRequestUnderWay(socket)) socket.destroy();
      }, Math.min(timeouts.headersTimeoutMs, timeouts.requestTimeoutMs));
      const requests = setTimeout(() => server.closeAllConnections(), timeouts.requestTimeoutMs);
      return () => {
        clearTimeout(headers);
        clearTimeout(requests);
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
