import pg from 'pg';
import { StorageUnavailableError } from '../unavailable.js';

/**
 * The first thing a start does on PostgreSQL is migrate, so its failures are what an operator meets when the URL,
 * the server or the role's privileges are wrong: they are said in those words, naming the server (never the
 * password) and what to do, with PostgreSQL's own message after.
 */
export function explainStartFailure(failure: unknown, url: string): unknown {
  // The pool reports a connection it could not have as StorageUnavailableError, PostgreSQL's own error its cause.
  const error = failure instanceof StorageUnavailableError ? failure.cause : failure;
  const code = String((error as { code?: unknown }).code ?? '');
  const message = error instanceof Error ? error.message : String(error);
  // invalid_schema_name: the URL's search_path names a schema that does not exist (PostgreSQL's own message,
  // "no schema has been selected to create in", does not say so).
  if (code === '3F000') {
    return new Error('the schema the database URL selects (search_path) does not exist: create it first ' +
      `(CREATE SCHEMA <name>), docs/postgres.md; ${message}`, { cause: error });
  }
  // A migration that changes an existing table needs its owner, not only CREATE on the schema.
  if (code === '42501' && message.includes('must be owner')) {
    return new Error('the database role does not own Cosync\'s tables, and a migration of this release changes them: ' +
      'start this release once as the role that owns them, then run the instances as before ' +
      `(docs/postgres.md, "Roles and privileges"); ${message}`, { cause: error });
  }
  if (code === '42501') {
    return new Error('the database role may not create Cosync\'s tables. From PostgreSQL 15 on, not every role may ' +
      'create in the schema public: grant CREATE on the schema, or create a schema the role owns and select it ' +
      `(docs/postgres.md, "Roles and privileges"); ${message}`, { cause: error });
  }
  if (code === 'ERR_INVALID_URL') {
    return new Error('the database URL (--database) is not a valid URL; characters such as @ : / % # in the ' +
      'password must be percent-encoded', { cause: error });
  }
  // No answer from a server (refused, unknown host, timed out, no TLS) or a refusal before any statement: the login
  // (28), the database (3D000), too many connections (53300), a server starting or shutting down (57P0x).
  const unreachable = error instanceof pg.DatabaseError
    ? /^(08|28|3D|53300|57P0)/.test(code)
    : /^E[A-Z]+$/.test(code) || /^Connection terminated|SSL/.test(message);
  if (unreachable) {
    return new Error(`could not connect to PostgreSQL at ${describeServer(url)} (--database): ${message}`, { cause: error });
  }
  return failure;
}

/** host:port/database of a postgres:// URL, without the user or the password. */
function describeServer(url: string): string {
  try {
    const u = new URL(url);
    const host = u.hostname || u.searchParams.get('host') || 'localhost';
    return `${decodeURIComponent(host)}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return 'the URL given';
  }
}
