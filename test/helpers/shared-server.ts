import { afterAll, beforeAll } from 'vitest';
import { startServer, type TestServer, type TestServerOptions } from './server.js';

/**
 * Something the tests of the file or describe block that calls this share: the beforeAll hook it registers makes it
 * with `start` and its afterAll hook ends it with `stop`. The answer reads it, and throws, naming `what`, when read
 * before beforeAll has made it: read it only inside tests and hooks.
 *
 * Hooks registered after this call run once it is made and, at the end, before it is ended: vitest runs beforeAll
 * hooks in the order they were registered and afterAll hooks in reverse (its default, `sequence.hooks: 'stack'`).
 */
export function sharedResource<T>(what: string, start: () => Promise<T>, stop: (value: T) => Promise<void>): () => T {
  let made: { value: T } | undefined;
  beforeAll(async () => {
    made = { value: await start() };
  });
  afterAll(async () => {
    if (made) await stop(made.value);
  });
  return () => {
    if (!made) throw new Error(`${what} was read before its beforeAll hook made it`);
    return made.value;
  };
}

/**
 * One server for the tests of the file or describe block that calls this (see sharedResource for when it starts
 * and closes). The answer stands for that server, so a file needs no variable of its own to set and close.
 * Kept apart from server.ts, which is plain code that does not need vitest.
 */
export function sharedServer(options: TestServerOptions = {}): TestServer {
  const started = sharedResource('the shared test server', () => startServer(options), (t) => t.close());
  return {
    get endpoint() { return started().endpoint; },
    get region() { return started().region; },
    get credentials() { return started().credentials; },
    get server() { return started().server; },
    get services() { return started().services; },
    close: () => started().close(),
  };
}
