import { randomBytes } from 'node:crypto';
import { Socket, createServer, type Server } from 'node:net';
import pg from 'pg';
import { describe, it } from 'vitest';
import { sharedResource } from '../helpers/shared-server.js';

/**
 * What the PostgreSQL tests share: the server they run against (env COSYNC_TEST_PG, e.g.
 * postgres://postgres@127.0.0.1:5432/test), a fresh schema per test file, and a TCP proxy that can delay, cut and
 * restore the connection to the database.
 */
export const PG_URL = process.env['COSYNC_TEST_PG'] ?? '';

export const PG_SKIP_REASON =
  'COSYNC_TEST_PG is not set (e.g. COSYNC_TEST_PG=postgres://postgres@127.0.0.1:5432/test); .ci/run sets it';

/** Logs why the PostgreSQL tests of a file did not run, so a skipped run never passes for a green one. */
export function notePgSkipped(file: string): void {
  console.warn(`[${file}] PostgreSQL tests SKIPPED: ${PG_SKIP_REASON}`);
}

/**
 * `describe(title, body)` when COSYNC_TEST_PG names a server; otherwise one skipped test whose title says why, and
 * a warning naming `file` (a run without PostgreSQL must say so, and CI always sets it).
 */
export function describeWithPostgres(title: string, file: string, body: () => void): void {
  if (PG_URL) {
    describe(title, body);
    return;
  }
  notePgSkipped(file);
  describe.skip(`${title} (skipped: ${PG_SKIP_REASON})`, () => {
    it('needs PostgreSQL', () => {});
  });
}

/** `url` with its search_path set to `schema` (libpq's `options` parameter), keeping anything else it says. */
export function withSchema(url: string, schema: string): string {
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}

/** `url` pointed at another host and port (the proxy), keeping user, database and parameters. */
export function viaPort(url: string, port: number): string {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(port);
  return u.toString();
}

export interface TestSchema {
  readonly name: string;
  /** PG_URL with this schema as search_path. */
  readonly url: string;
  /** Runs SQL as the test's admin connection (in this schema). */
  query(text: string, values?: unknown[]): Promise<pg.QueryResult>;
  /** Empties every table but schema_migrations. */
  truncate(): Promise<void>;
  /** Drops the schema and closes the admin connection. */
  drop(): Promise<void>;
}

/** Creates an empty schema named after the file and a random suffix, so concurrent runs never meet. */
export async function createTestSchema(prefix: string): Promise<TestSchema> {
  const name = `cosync_${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  admin.on('error', () => {});
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${name}`);
  await admin.query(`SET search_path = ${name}`);
  return {
    name,
    url: withSchema(PG_URL, name),
    query: (text, values) => admin.query(text, values),
    async truncate() {
      const { rows } = await admin.query<{ t: string }>(
        `SELECT table_name AS t FROM information_schema.tables
         WHERE table_schema = $1 AND table_type = 'BASE TABLE' AND table_name <> 'schema_migrations'`,
        [name],
      );
      if (rows.length > 0) await admin.query(`TRUNCATE ${rows.map((r) => `${name}.${r.t}`).join(', ')}`);
    },
    async drop() {
      try {
        await admin.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
      } finally {
        await admin.end();
      }
    },
  };
}

/**
 * One schema (createTestSchema) for the tests of the describe block that calls this, created before them and
 * dropped after them (see sharedResource), so the servers and stores a test file opens on it close first. The
 * answer stands for that schema.
 */
export function sharedSchema(prefix: string): TestSchema {
  const schema = sharedResource(`the shared test schema '${prefix}'`, () => createTestSchema(prefix), (s) => s.drop());
  return {
    get name() { return schema().name; },
    get url() { return schema().url; },
    query: (text, values) => schema().query(text, values),
    truncate: () => schema().truncate(),
    drop: () => schema().drop(),
  };
}

/**
 * A TCP proxy on 127.0.0.1 in front of the database. `delayMs` holds every chunk the server sends for that long
 * (so each round trip costs at least that much, and can be counted by the clock); `cut()` drops every connection
 * and refuses new ones (the database "goes away"); `restore()` listens again on the same port.
 */
export interface TcpProxy {
  readonly port: number;
  delayMs: number;
  /** How many of the client's connections sent something at or after `time` (Date.now()). */
  clientsSendingSince(time: number): number;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  /** When each connection from the client last sent data. */
  const lastSent = new Map<Socket, number>();
  let server: Server | undefined;
  let port = 0;
  const proxy: TcpProxy = {
    get port() {
      return port;
    },
    delayMs: 0,
    clientsSendingSince: (time) => [...lastSent.values()].filter((at) => at >= time).length,
    cut: async () => {
      for (const s of sockets) s.destroy();
      sockets.clear();
      await stop();
    },
    restore: () => listen(port),
    close: async () => {
      for (const s of sockets) s.destroy();
      await stop();
    },
  };

  function accept(client: Socket): void {
    const upstream = new Socket();
    sockets.add(client);
    sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    // Without Nagle's algorithm: a chunk written while the previous one is unacknowledged would otherwise wait
    // for the peer's delayed ACK (up to 40 ms) and count as a round trip of its own.
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    upstream.connect(target.port, target.host);
    client.on('data', (chunk: Buffer) => {
      lastSent.set(client, Date.now());
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      // setTimeout with one delay fires in creation order, so chunks keep their order.
      if (proxy.delayMs > 0) setTimeout(() => client.destroyed || client.write(chunk), proxy.delayMs);
      else client.write(chunk);
    });
  }

  function listen(at: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const s = createServer(accept);
      s.once('error', reject);
      s.listen(at, '127.0.0.1', () => {
        server = s;
        port = (s.address() as { port: number }).port;
        resolve();
      });
    });
  }

  function stop(): Promise<void> {
    const s = server;
    server = undefined;
    return new Promise((resolve) => (s ? s.close(() => resolve()) : resolve()));
  }

  await listen(0);
  return proxy;
}

/** Host and port of a postgres:// URL. */
export function pgTarget(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname || '127.0.0.1', port: Number(u.port || 5432) };
}
