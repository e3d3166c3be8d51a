import { afterAll, beforeAll } from 'vitest';
import { startServer, type TestServer, type TestServerOptions } from './server.js';

/**
 * One server for the tests of the file or describe block that calls this: the beforeAll hook it registers starts
 * the server and its afterAll hook closes it. The answer stands for that server, so a file needs no variable of
 * its own to set and close; it may be read only inside tests and hooks, and throws before the server has started.
 *
 * Hooks registered after this call run once the server has started and, at the end, before it closes: vitest runs
 * beforeAll hooks in the order they were registered and afterAll hooks in reverse (its default, `sequence.hooks:
 * 'stack'`). Kept apart from server.ts, which is plain code that does not need vitest.
 */
export function sharedServer(options: TestServerOptions = {}): TestServer {
  let running: TestServer | undefined;
  beforeAll(async () => {
    running = await startServer(options);
  });
  afterAll(async () => {
    await running?.close();
  });
  const started = (): TestServer => {
    if (!running) throw new Error('the shared test server was read before its beforeAll hook started it');
    return running;
  };
  return {
    get endpoint() { return started().endpoint; },
    get region() { return started().region; },
    get credentials() { return started().credentials; },
    get server() { return started().server; },
    get services() { return started().services; },
    close: () => started().close(),
  };
}
