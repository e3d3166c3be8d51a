/** How long one request may take, from sending to the last byte of its answer (default of `requestTimeoutMs`). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 20_000;

type Send = (command: unknown, options?: { abortSignal?: AbortSignal }) => Promise<unknown>;

/**
 * Aborts every request `client` sends that has not been answered within `timeoutMs`. A link that swallows
 * requests (a dead mobile connection, a NAT that dropped the flow) otherwise leaves the request, the sync waiting
 * for it, and every sync queued behind that one, waiting for ever. The abort reaches the caller as a network
 * failure, which synchronize() retries like any other. Applies to the calls the SDK's credential provider makes
 * through this client too, which is why it is the client's `send` that is bounded rather than each call site's.
 */
export function boundRequests<C extends object>(client: C, timeoutMs: number): C {
  const target = client as unknown as { send: Send };
  const send = target.send.bind(client);
  target.send = (command, options) =>
    send(command, { ...options, abortSignal: options?.abortSignal ?? AbortSignal.timeout(timeoutMs) });
  return client;
}
