import pg from 'pg';
import { StorageUnavailableError } from '../unavailable.js';

/**
 * The connection pool of the PostgreSQL adapter and the three ways the adapter talks through it:
 * - `query`: one statement, autocommitted (one round trip);
 * - `batch`: several statements sent at once on one connection (pipelined: one round trip for all of them);
 * - `transaction`: BEGIN … COMMIT on one connection, where the work decides between round trips (the UpdateRecords
 *   plan runs between reading and writing) and each round trip is itself a pipelined batch.
 *
 * Connections use node-postgres's pipeline mode: a query is written to the socket at once rather than after the
 * previous one's answer, and the server runs them in order, so `[BEGIN, lock, read]` costs one round trip.
 *
 * Failure model: a connection that breaks (the database restarts, the network drops) fails the queries on it and is
 * thrown away; the pool opens new connections on demand, so the adapter recovers by itself once the database is back.
 * Errors of idle connections arrive as pool 'error' events, which are logged and never crash the process; a
 * checked-out connection gets its own 'error' listener for the same reason.
 */
export interface PgPoolOptions {
  /** postgres://user:password@host:port/database?options=… (libpq-style URL). */
  readonly url: string;
  /** Most connections open at once (per server instance). */
  readonly poolSize: number;
  /** Server-side statement_timeout in milliseconds (also bounds lock waits); 0 = none, whatever the role's default. */
  readonly statementTimeoutMs: number;
  /** How long to wait for a connection (opening one, or a free one when the pool is full), in milliseconds. */
  readonly connectTimeoutMs: number;
  /** Receives errors of idle connections (the pool replaces them); default: ignored. */
  readonly onPoolError?: ((error: Error) => void) | undefined;
}

export type Statement = { readonly text: string; readonly values?: readonly unknown[]; readonly name?: string };
/** Rows as node-postgres parsed them; callers cast them to the row interface of their statement. */
export type Result<R = unknown> = { readonly rows: R[]; readonly rowCount: number };

export interface Db {
  readonly pool: pg.Pool;
  /** One statement that only reads; retried on another connection when the one it got was dead (see below). */
  read<R = unknown>(statement: Statement): Promise<Result<R>>;
  /** One statement that writes (autocommitted); never retried, since it may have run before its connection broke. */
  query<R = unknown>(statement: Statement): Promise<Result<R>>;
  /**
   * Runs the statements pipelined on one connection, outside any transaction (each autocommits). They must be
   * idempotent: like `read`, a batch is retried on another connection when the one it got was dead.
   */
  batch(statements: readonly Statement[]): Promise<Result[]>;
  /**
   * Runs `work` on one connection. `work` sends BEGIN itself (as the first statement of its first round trip) and
   * COMMIT (as the last of its last); if it throws, the transaction is rolled back and the error rethrown unchanged.
   * Serialization failures and deadlocks (SQLSTATE 40001, 40P01) re-run `work` from the start a few times, and so
   * does a connection that breaks before COMMIT was sent (nothing was committed); one that breaks on the round trip
   * carrying COMMIT fails the call, since the commit may or may not have happened.
   */
  transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
  end(): Promise<void>;
}

export interface Tx {
  /** One round trip: sends every statement at once, waits for all; rejects with the first statement's error. */
  run(statements: readonly Statement[]): Promise<Result[]>;
}

/**
 * READ COMMITTED whatever the database's default: each statement after the identity lock then reads what was
 * committed before it took the lock. (An engine that runs it as SERIALIZABLE instead stays correct: conflicts
 * come back as SQLSTATE 40001, and the transaction is run again.)
 */
export const BEGIN: Statement = { text: 'BEGIN ISOLATION LEVEL READ COMMITTED' };
export const COMMIT: Statement = { text: 'COMMIT' };

const MAX_ATTEMPTS = 5;
/** SQLSTATEs after which the whole transaction may simply be run again. */
const RETRYABLE = new Set(['40001', '40P01']);

/**
 * int8 (COUNT, bigint columns) as a JavaScript number: every int8 the schema holds is an epoch millisecond, a
 * count or a size, all far below 2^53. Other types keep node-postgres's parsers (json → object, bytea → Buffer).
 */
const INT8_OID = 20;
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

/** A transaction left open (which the adapter never does on purpose) must not hold row locks for ever. */
const IDLE_IN_TRANSACTION_MS = 60_000;

/**
 * The limits every statement of the adapter runs under, as one statement: `scope` 'session' (set once per connection)
 * or 'transaction' (SET LOCAL, run after each BEGIN). lock_timeout is 0 because the statement timeout bounds lock
 * waits: a role's own lock_timeout would turn a racing writer's wait, which ends in a 409, into a 500.
 *
 * Why not startup parameters (node-postgres's `statement_timeout` option): PgBouncer refuses a connection that sends
 * them. Why per transaction too: behind PgBouncer in transaction mode a session setting stays on whichever server
 * connection ran it, so the limits a write holds its locks under are set in its own transaction.
 */
function limitsStatement(statementTimeoutMs: number, scope: 'session' | 'transaction'): Statement {
  const local = scope === 'transaction';
  return {
    text: "SELECT set_config('lock_timeout', '0', $1), set_config('statement_timeout', $2, $1), " +
      "set_config('idle_in_transaction_session_timeout', $3, $1)",
    values: [local, String(statementTimeoutMs), String(IDLE_IN_TRANSACTION_MS)],
  };
}

export function createDb(options: PgPoolOptions): Db {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize,
    connectionTimeoutMillis: options.connectTimeoutMs,
    idleTimeoutMillis: 30_000,
    // Detects a peer that vanished without closing the socket (a crashed host, a dropped network).
    keepAlive: true,
    // The client-side bound for a server that no longer answers at all; the server's own timeout fires first.
    ...(options.statementTimeoutMs > 0 ? { query_timeout: options.statementTimeoutMs + 5_000 } : {}),
    application_name: 'cosync',
    types,
    pipeline: true,
  });
  pool.on('error', (error) => options.onPoolError?.(error));
  const sessionLimits = limitsStatement(options.statementTimeoutMs, 'session');
  const transactionLimits = limitsStatement(options.statementTimeoutMs, 'transaction');
  // Queued before any statement a caller sends on the new connection; a failure breaks that caller's statements.
  pool.on('connect', (client) => {
    client.query(toConfig(sessionLimits)).catch(() => {});
  });

  /**
   * Errors of statements sent on a connection that turned out to be dead (lost, terminated by the server, timed
   * out client-side): the statements' fate is unknown to the server's answer, but the connection is not the
   * database. A pooled connection can be dead without the pool knowing yet (the database restarted while it was
   * idle), so the first calls after a restart may meet one; they try again on another (at most poolSize times,
   * which drains every stale connection). Failing to connect at all is not retried: the database is down.
   */
  const connectionFailures = new WeakSet<object>();
  const staleRetries = options.poolSize;
  /**
   * A connection failure other than the client-side query timeout. A connection that did not answer within the
   * statement timeout and 5 s more is not a stale one (those fail at once), but a database that has stopped
   * answering, which every other connection waits on too: trying again would wait the whole timeout once more, and
   * a request held the outage's length (35-40 s) instead of failing in one timeout.
   */
  const retriable = (error: unknown) =>
    connectionFailures.has(error as object) && !(error instanceof Error && error.message === QUERY_READ_TIMEOUT);

  /**
   * Checks a connection out with an 'error' listener (so a connection that breaks while in use cannot crash the
   * process) and hands it back afterwards, or throws it away when it broke: the listener fired, or a query failed
   * for another reason than a statement error (connection lost, client-side timeout).
   */
  async function withClient<T>(use: (conn: Conn) => Promise<T>): Promise<T> {
    const client = await connect(pool, options.connectTimeoutMs);
    let broken: Error | undefined;
    const onError = (error: Error) => {
      broken ??= error;
    };
    client.on('error', onError);
    const conn: Conn = {
      async run(statements) {
        try {
          return await pipelined(client, statements);
        } catch (error) {
          if (!isSqlError(error)) {
            broken ??= error instanceof Error ? error : new Error(String(error));
            if (typeof error === 'object' && error !== null) connectionFailures.add(error);
          }
          throw error;
        }
      },
    };
    try {
      return await use(conn);
    } finally {
      client.removeListener('error', onError);
      client.release(broken ?? false);
    }
  }

  /** Runs `once` again after a dead connection, up to staleRetries times. */
  async function onLiveConnection<T>(once: () => Promise<T>): Promise<T> {
    for (let retry = 0; ; retry++) {
      try {
        return await once();
      } catch (error) {
        if (retry < staleRetries && retriable(error)) continue;
        throw error;
      }
    }
  }

  /** What a call rejects with once retrying is over: a connection failure says so (StorageUnavailableError). */
  function settled<T>(call: Promise<T>): Promise<T> {
    return call.catch((error: unknown) => {
      if (error instanceof StorageUnavailableError || !connectionFailures.has(error as object)) throw error;
      throw new StorageUnavailableError(`the connection to PostgreSQL broke: ${messageOf(error)}`, { cause: error });
    });
  }

  const db: Db = {
    pool,
    read: async <R>(statement: Statement): Promise<Result<R>> =>
      settled(onLiveConnection(async () => (await withClient((conn) => conn.run([statement])))[0] as Result<R>)),
    query: async <R>(statement: Statement): Promise<Result<R>> =>
      settled(withClient((conn) => conn.run([statement]))).then((results) => results[0] as Result<R>),
    batch: (statements) => settled(onLiveConnection(() => withClient((conn) => conn.run(statements)))),
    transaction: (work) => settled(runTransaction(work)),
    end: () => pool.end(),
  };
  return db;

  async function runTransaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    let stale = 0;
    for (let attempt = 1; ; attempt++) {
      let committing = false;
      try {
        return await withClient(async (conn) => {
          const tx: Tx = {
            async run(statements) {
              if (statements.includes(COMMIT)) committing = true;
              if (statements[0] !== BEGIN) return conn.run(statements);
              // The limits go in right after BEGIN, and their result out of what the caller reads.
              const results = await conn.run([BEGIN, transactionLimits, ...statements.slice(1)]);
              results.splice(1, 1);
              return results;
            },
          };
          try {
            return await work(tx);
          } catch (error) {
            // Ends the transaction whatever state it is in (a harmless warning when COMMIT already ended it).
            // A failure here means the connection is gone, which conn.run has noted; the cause is `error`.
            await conn.run([ROLLBACK]).catch(() => {});
            throw error;
          }
        });
      } catch (error) {
        if (attempt < MAX_ATTEMPTS && isRetryable(error)) continue;
        if (!committing && stale++ < staleRetries && retriable(error)) continue;
        throw error;
      }
    }
  }
}

/** The message of node-postgres's error for `query_timeout` (its client-side bound on a statement's answer). */
const QUERY_READ_TIMEOUT = 'Query read timeout';

/** PostgreSQL's answers to a new connection that mean "not now" rather than "never": too many connections
 * (for the server, the role or the database) and a server that is starting up. */
const REFUSED_FOR_NOW = new Set(['53300', '57P03']);
const FIRST_CONNECT_RETRY_MS = 20;
const LAST_CONNECT_RETRY_MS = 250;

/**
 * A connection from the pool. A server that refuses one for now is asked again, with growing pauses, until
 * `timeoutMs` has passed since the first try, as a pool that is full is waited for; any other failure to connect
 * (nothing listens, the login is refused) fails at once. Either way the caller gets a StorageUnavailableError.
 *
 * The whole wait, queueing for a full pool included, ends by one deadline: the first try is bounded by the pool
 * itself (its connectionTimeoutMillis is `timeoutMs`), each later one by what is left of it, since the pool would
 * give it a whole `timeoutMs` again. A later try the deadline cuts short fails as it would have without the cut:
 * queued for a full pool, as the pool fails a wait that outlasts its timeout; opening a connection, as the refusal
 * that made the call ask again.
 */
async function connect(pool: pg.Pool, timeoutMs: number): Promise<pg.PoolClient> {
  const deadline = Date.now() + timeoutMs;
  let refusal: unknown;
  for (let pause = FIRST_CONNECT_RETRY_MS; ; pause = Math.min(pause * 2, LAST_CONNECT_RETRY_MS)) {
    let cause: unknown;
    try {
      if (refusal === undefined) return await pool.connect();
      // The last pause used up what was left: no try that would be abandoned at once.
      if (Date.now() >= deadline) throw refusal;
      const queued = pool.idleCount === 0 && pool.totalCount >= (pool.options.max ?? Infinity);
      const client = await connectBy(pool, deadline);
      if (client) return client;
      cause = queued ? new Error('timeout exceeded when trying to connect') : refusal;
    } catch (error) {
      const code = error instanceof pg.DatabaseError ? error.code ?? '' : '';
      const left = deadline - Date.now();
      if (REFUSED_FOR_NOW.has(code) && left > 0) {
        refusal = error;
        await new Promise((resolve) => setTimeout(resolve, Math.min(pause, left)));
        continue;
      }
      cause = error;
    }
    throw new StorageUnavailableError(`could not connect to PostgreSQL: ${messageOf(cause)}`, { cause });
  }
}

/** `pool.connect()`, or undefined once `deadline` has passed; a connection that arrives later goes back to the pool. */
function connectBy(pool: pg.Pool, deadline: number): Promise<pg.PoolClient | undefined> {
  const pending = pool.connect();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      pending.then((client) => client.release(), () => {});
      resolve(undefined);
    }, Math.max(deadline - Date.now(), 0));
    pending.then(
      (client) => {
        clearTimeout(timer);
        resolve(client);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

type Conn = Tx;
const ROLLBACK: Statement = { text: 'ROLLBACK' };

async function pipelined(client: pg.PoolClient, statements: readonly Statement[]): Promise<Result[]> {
  // Every statement is written now; allSettled (not all) so that no rejection is left unobserved. node-postgres
  // writes each protocol message (Bind, Execute, Sync, …) with its own socket write; corking the socket while the
  // batch is queued sends the whole round trip in one system call (they were most of the adapter's CPU).
  const socket = (client as unknown as { connection?: { stream?: { cork?(): void; uncork?(): void } } }).connection?.stream;
  socket?.cork?.();
  let sent: Promise<pg.QueryResult>[];
  try {
    sent = statements.map((s) => client.query(toConfig(s)));
  } finally {
    socket?.uncork?.();
  }
  const settled = await Promise.allSettled(sent);
  const results: Result[] = [];
  for (const outcome of settled) {
    // The first failure is the cause; statements after it fail with "current transaction is aborted".
    if (outcome.status === 'rejected') throw outcome.reason;
    results.push({ rows: outcome.value.rows as unknown[], rowCount: outcome.value.rowCount ?? 0 });
  }
  return results;
}

function toConfig(s: Statement): pg.QueryConfig {
  return { text: s.text, ...(s.values ? { values: [...s.values] } : {}), ...(s.name ? { name: s.name } : {}) };
}

/** An error the server reported for a statement (it has a SQLSTATE); the connection itself is still usable. */
export function isSqlError(error: unknown): boolean {
  return error instanceof pg.DatabaseError && !/^(08|57P0[1-3])/.test(error.code ?? '');
}

function isRetryable(error: unknown): boolean {
  return error instanceof pg.DatabaseError && RETRYABLE.has(error.code ?? '');
}
