/**
 * The database could not be used at all: no connection could be had (the server is down, unreachable, or refused
 * one: too many connections, starting up) or the one in use broke. Nothing of the call was done, or, for a write
 * whose connection broke while committing, its outcome is unknown. Engines with a server (PostgreSQL) throw it;
 * the embedded engine never does.
 *
 * The HTTP edge answers it 500 InternalErrorException, which the SDKs retry, and logs it without flooding: during
 * an outage every request fails the same way.
 */
export class StorageUnavailableError extends Error {
  constructor(message: string, options: { cause: unknown }) {
    super(message, options);
    this.name = 'StorageUnavailableError';
  }
}
