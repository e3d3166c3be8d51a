import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Resolves on the next turn of the event loop. An operation that makes many store calls in a row awaits it between
 * them: on SQLite each call is synchronous work behind an already settled promise, and awaiting that never lets
 * the event loop run, so without it the whole loop would hold every other request of the server.
 */
export function nextEventLoopTurn(): Promise<void> {
  return nextTurn();
}
