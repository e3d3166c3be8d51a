/**
 * The PostgreSQL adapter in the setups operators run it in: a role that may only read and write rows, a role or
 * database with its own timeouts, and the failures a first start meets (docs/postgres.md, "Roles and privileges").
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { MIGRATIONS, migrate } from '../../src/storage/postgres/migrations.js';
import { openPostgresStore, type PostgresStoreOptions } from '../../src/storage/postgres/postgres-store.js';
import { createDb } from '../../src/storage/postgres/pool.js';
import { StorageUnavailableError } from '../../src/storage/unavailable.js';
import { command, identity, pool, putPlan } from './conformance.js';
import type { SyncStore } from '../../src/storage/store.js';
import { describeWithPostgres, PG_URL, createTestSchema, type TestSchema } from './postgres-support.js';

const options = (url: string, over: Partial<PostgresStoreOptions> = {}): PostgresStoreOptions => ({
  url, poolSize: 2, statementTimeoutMs: 5000, connectTimeoutMs: 2000, ...over,
});

/** `url` whose sessions start with these settings, as `ALTER ROLE … SET` would give them. */
function withSessionDefaults(url: string, settings: Record<string, string>): string {
  const u = new URL(url);
  const extra = Object.entries(settings).map(([name, value]) => `-c ${name}=${value}`).join(' ');
  u.searchParams.set('options', `${u.searchParams.get('options') ?? ''} ${extra}`.trim());
  return u.toString();
}

/** `url` logging in as another role. */
function asRole(url: string, role: string): string {
  const u = new URL(url);
  u.username = role;
  u.password = '';
  return u.toString();
}

describeWithPostgres('PostgreSQL deployments', 'test/storage/postgres-deployments.test.ts', () => {
  const schemas: TestSchema[] = [];
  const roles: string[] = [];
  const admin = new pg.Client({ connectionString: PG_URL });
  let connected = false;
  async function adminQuery(text: string): Promise<void> {
    if (!connected) {
      admin.on('error', () => {});
      await admin.connect();
      connected = true;
    }
    await admin.query(text);
  }
  async function freshSchema(): Promise<TestSchema> {
    const s = await createTestSchema('deploy');
    schemas.push(s);
    return s;
  }
  async function freshRole(): Promise<string> {
    const role = `cosync_role_${randomBytes(4).toString('hex')}`;
    await adminQuery(`CREATE ROLE ${role} LOGIN`);
    roles.push(role);
    return role;
  }
  afterAll(async () => {
    await Promise.all(schemas.map((s) => s.drop()));
    for (const role of roles) await adminQuery(`DROP OWNED BY ${role}; DROP ROLE ${role}`);
    if (connected) await admin.end();
  });

  it('a role that may only read and write rows starts on a schema an admin migrated, and serves writes', async () => {
    const s = await freshSchema();
    await (await openPostgresStore(options(s.url))).close();
    const role = await freshRole();
    await adminQuery(`GRANT USAGE ON SCHEMA ${s.name} TO ${role};
      GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${s.name} TO ${role};
      GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ${s.name} TO ${role}`);
    const store = await openPostgresStore(options(asRole(s.url, role)));
    try {
      const c = await identityWithDataset(store, 'us-east-1:dml');
      await expect(store.writeRecords(c, putPlan(c, { k: 'v2' }))).resolves.toMatchObject({ dataset: { syncCount: 2 } });
    } finally {
      await store.close();
    }
  });

  it('a role that may not create tables is told why and what to do', async () => {
    const s = await freshSchema();
    const role = await freshRole();
    await adminQuery(`GRANT USAGE ON SCHEMA ${s.name} TO ${role}`);
    await expect(openPostgresStore(options(asRole(s.url, role))))
      .rejects.toThrow(/may not create Cosync's tables.*grant CREATE on the schema/s);
  });

  it('a role that does not own the tables is told to run a migration as their owner', async () => {
    const s = await freshSchema();
    await (await openPostgresStore(options(s.url))).close();
    await s.query('DELETE FROM schema_migrations WHERE version = (SELECT MAX(version) FROM schema_migrations)');
    const role = await freshRole();
    await adminQuery(`GRANT USAGE, CREATE ON SCHEMA ${s.name} TO ${role};
      GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${s.name} TO ${role};
      GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ${s.name} TO ${role}`);
    await expect(openPostgresStore(options(asRole(s.url, role))))
      .rejects.toThrow(/does not own Cosync's tables.*as the role that owns them/s);
  });

  it('migrations run without the role\'s statement timeout', async () => {
    const s = await freshSchema();
    const db = createDb(options(withSessionDefaults(s.url, { statement_timeout: '100' }), { poolSize: 1, statementTimeoutMs: 0 }));
    try {
      const slow = { version: MIGRATIONS.length + 1, name: 'slow', sql: 'SELECT pg_sleep(0.3)' };
      await expect(migrate(db, [...MIGRATIONS, slow])).resolves.toHaveLength(MIGRATIONS.length + 1);
    } finally {
      await db.end();
    }
  });

  it('statements outside transactions run under the server\'s statement timeout, not the role\'s', async () => {
    const s = await freshSchema();
    const db = createDb(options(withSessionDefaults(s.url, { statement_timeout: '0' }), { statementTimeoutMs: 200 }));
    try {
      await expect(db.read({ text: 'SELECT pg_sleep(1)' })).rejects.toThrow(/statement timeout/);
    } finally {
      await db.end();
    }
  });

  it('a role\'s lock_timeout does not fail a write that waits for another\'s lock (the statement timeout bounds it)', async () => {
    const s = await freshSchema();
    const store = await openPostgresStore(options(withSessionDefaults(s.url, { lock_timeout: '10' })));
    const holder = new pg.Client({ connectionString: s.url });
    holder.on('error', () => {});
    await holder.connect();
    try {
      const c = await identityWithDataset(store, 'us-east-1:locked');
      await holder.query('BEGIN');
      expect((await holder.query("SELECT 1 FROM sync_locks WHERE identity_id = 'us-east-1:locked' FOR UPDATE")).rowCount).toBe(1);
      const second = { ...c, sessionId: 'second' };
      const waiting = store.writeRecords(second, putPlan(second, { k: 'v2' }));
      await new Promise((r) => setTimeout(r, 200));
      await holder.query('COMMIT');
      await expect(waiting).resolves.toMatchObject({ dataset: { syncCount: 2 } });
    } finally {
      await holder.end();
      await store.close();
    }
  });

  it('throttle buckets can be updated in place (HOT): no index on the column every token take changes', async () => {
    const s = await freshSchema();
    await (await openPostgresStore(options(s.url))).close();
    const { rows } = await s.query(
      "SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = 'throttle_buckets'", [s.name]);
    expect(rows.map((r: { indexdef: string }) => r.indexdef)).toEqual([expect.stringMatching(/UNIQUE INDEX .*\(bucket\)/)]);
    const options_ = await s.query(
      "SELECT reloptions FROM pg_class WHERE oid = to_regclass($1)", [`${s.name}.throttle_buckets`]);
    expect(options_.rows[0]).toEqual({ reloptions: ['fillfactor=50'] });
  });

  it('a database that migration 4 reached before it created the batched throttle function gets it from migration 5', async () => {
    const s = await freshSchema();
    await (await openPostgresStore(options(s.url))).close();
    // As the builds that shipped migration 4 without the function left a database.
    await s.query('DROP FUNCTION cosync_take_tokens_batch; DELETE FROM schema_migrations WHERE version >= 5');
    const store = await openPostgresStore(options(s.url));
    try {
      await expect(store.takeTokens!([{ name: 'p:pool', ratePerSecond: 1, burst: 2 }])).resolves.toBeUndefined();
    } finally {
      await store.close();
    }
  });

  it('a connection refused for now (too many connections) is asked for again within the connect timeout', async () => {
    const s = await freshSchema();
    const role = await freshRole();
    await adminQuery(`ALTER ROLE ${role} CONNECTION LIMIT 1`);
    const db = createDb(options(asRole(s.url, role), { poolSize: 3 }));
    try {
      // One connection at a time for the role: the other two calls are refused until the first's is free again.
      const slow = { text: 'SELECT pg_sleep(0.1) AS slept' };
      await expect(Promise.all([db.read(slow), db.read(slow), db.read(slow)])).resolves.toHaveLength(3);
    } finally {
      await db.end();
    }
    await adminQuery(`ALTER ROLE ${role} CONNECTION LIMIT 0`);
    const refused = createDb(options(asRole(s.url, role), { connectTimeoutMs: 300 }));
    try {
      const began = Date.now();
      const failure = refused.read({ text: 'SELECT 1' });
      await expect(failure).rejects.toBeInstanceOf(StorageUnavailableError);
      await expect(failure).rejects.toThrow(/^could not connect to PostgreSQL: too many connections for role/);
      expect(Date.now() - began).toBeGreaterThanOrEqual(290);
    } finally {
      await refused.end();
    }
  });

  it('a connection refused for now, then queued behind a full pool, is given up within one connect timeout', async () => {
    const s = await freshSchema();
    const role = await freshRole();
    await adminQuery(`ALTER ROLE ${role} CONNECTION LIMIT 1`);
    // The role's one connection is taken: both calls below are refused (53300) and keep asking.
    const holder = new pg.Client({ connectionString: asRole(s.url, role) });
    holder.on('error', () => {});
    await holder.connect();
    const db = createDb(options(asRole(s.url, role), { poolSize: 1, connectTimeoutMs: 1000 }));
    try {
      const began = Date.now();
      const call = () => db.read({ text: 'SELECT pg_sleep(2) AS slept' }).then(
        () => ({ ok: true as const, at: Date.now() - began }),
        (error: unknown) => ({ ok: false as const, at: Date.now() - began, error }),
      );
      const calls = [call(), call()];
      // Freed before the deadline: one call gets it and keeps the pool's only connection past the deadline; the other
      // then waits for the full pool, which must not start a connect timeout of its own.
      await new Promise((resolve) => setTimeout(resolve, 600));
      await holder.end();
      const outcomes = await Promise.all(calls);
      expect(outcomes.filter((o) => o.ok)).toHaveLength(1);
      const failed = outcomes.find((o) => !o.ok)!;
      expect(failed.error).toBeInstanceOf(StorageUnavailableError);
      // As the pool answers a wait for it that outlasts its timeout.
      expect((failed.error as Error).message).toBe('could not connect to PostgreSQL: timeout exceeded when trying to connect');
      expect(failed.at).toBeGreaterThanOrEqual(990);
      expect(failed.at).toBeLessThan(1500);
    } finally {
      await db.end();
    }
  });

  it('a server that cannot be reached is named, without the password', async () => {
    const u = new URL(PG_URL);
    u.port = '1';
    u.password = 'hunter2';
    const failure = openPostgresStore(options(u.toString(), { connectTimeoutMs: 1000 }));
    await expect(failure).rejects.toThrow(/^could not connect to PostgreSQL at [^ ]+:1\/[^ ]* \(--database\): /);
    await expect(failure).rejects.not.toThrow(/hunter2/);
  });
});

/** A pool, an identity in it and one write to its dataset `ds` (which creates the identity's lock row). */
async function identityWithDataset(store: SyncStore, identityId: string) {
  await store.createIdentityPool(pool('us-east-1:deploy'));
  await store.createIdentity(identity(identityId, 'us-east-1:deploy'));
  const c = command(identityId, 'ds', ['k'], { identityPoolId: 'us-east-1:deploy' });
  await store.writeRecords(c, putPlan(c, { k: 'v1' }));
  return c;
}
