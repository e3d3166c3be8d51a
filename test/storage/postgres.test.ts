import { afterAll, describe, expect, it, vi } from 'vitest';
import pg from 'pg';
import { errors, type ServiceError } from '../../src/api/errors.js';
import { openStore } from '../../src/storage/index.js';
import { LATEST_SCHEMA_VERSION, MIGRATIONS, SchemaTooNewError, migrate } from '../../src/storage/postgres/migrations.js';
import { openPostgresStore, type PostgresStoreOptions } from '../../src/storage/postgres/postgres-store.js';
import { createDb } from '../../src/storage/postgres/pool.js';
import type { DatasetRow, DatasetWriteState, WriteCommand, WritePlan } from '../../src/storage/types.js';
import { identity as conformanceIdentity, pool as conformancePool, runStoreConformance } from './conformance.js';
import {
  describeWithPostgres, PG_URL, createTestSchema, pgTarget, sharedSchema, startTcpProxy, viaPort, withSchema, type TestSchema,
} from './postgres-support.js';

describeWithPostgres('PostgreSQL adapter', 'test/storage/postgres.test.ts', () => {
  const schema = sharedSchema('conformance');

  runStoreConformance({
    name: 'postgres',
    async create() {
      await schema.truncate();
      return openStore({ engine: 'postgres', url: schema.url, poolSize: 4 });
    },
  });

  describe('postgres specifics', () => {
    const options = (url: string, over: Partial<PostgresStoreOptions> = {}): PostgresStoreOptions => ({
      url, poolSize: 4, statementTimeoutMs: 5000, connectTimeoutMs: 2000, ...over,
    });
    const fresh: TestSchema[] = [];
    async function freshSchema(): Promise<TestSchema> {
      const s = await createTestSchema('specifics');
      fresh.push(s);
      return s;
    }
    afterAll(async () => {
      await Promise.all(fresh.map((s) => s.drop()));
    });

    it('is ready for sharding: every primary key leads with the pool or identity id', async () => {
      const s = await freshSchema();
      await (await openPostgresStore(options(s.url))).close();
      const { rows } = await s.query(
        `SELECT c.relname AS table_name, a.attname AS leading
         FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]
         WHERE i.indisprimary AND n.nspname = $1 ORDER BY 1`, [s.name]);
      const leading = Object.fromEntries(rows.map((r: { table_name: string; leading: string }) => [r.table_name, r.leading]));
      // Global and tiny: replicated (a reference table) where the database shards.
      const global = ['schema_migrations', 'server_secrets'];
      // The throttle's buckets are named after their identity or pool ('i:<identity id>', 'p:<pool id>').
      const named = { throttle_buckets: 'bucket' };
      for (const [table, column] of Object.entries(leading)) {
        if (table in named) expect(column).toBe(named[table as keyof typeof named]);
        else if (!global.includes(table)) expect([table, column]).toEqual([table, expect.stringMatching(/^(pool_id|identity_id)$/)]);
      }
      expect(Object.keys(leading).sort()).toEqual([
        'consumed_sessions', 'datasets', 'deleted_pools', 'devices', 'identities', 'identity_logins', 'identity_pools', 'login_owners',
        'pool_sync_settings', 'records', 'schema_migrations', 'server_secrets', 'subscriptions', 'sync_locks',
        'throttle_buckets',
      ]);
    });

    it('is ready for sharding: every request-path statement is an index lookup on one identity, pool or login', async () => {
      const s = await freshSchema();
      const store = await openPostgresStore(options(s.url));
      const seen: { text: string; values: unknown[] }[] = [];
      const original = pg.Client.prototype.query;
      pg.Client.prototype.query = function (this: pg.Client, config: unknown, ...rest: unknown[]) {
        const c = config as { text?: string; values?: unknown[] };
        if (typeof c === 'object' && c !== null && c.text && c.values) seen.push({ text: c.text, values: c.values });
        return (original as (...args: unknown[]) => unknown).call(this, config, ...rest);
      } as typeof original;
      const [P, S, M] = ['us-east-1:pool', 'us-east-1:survivor', 'us-east-1:merged'];
      try {
        // Every SyncStore method an API request calls (the control plane's pool-wide listings and usage excepted).
        await store.createIdentityPool(pool(P));
        await store.getIdentityPool(P);
        await store.modifyIdentityPool(P, (p) => p);
        for (const id of [S, M]) await store.createIdentity({ identityId: id, identityPoolId: P, createdAt: 1, lastModifiedAt: 1, disabled: false });
        await store.getIdentity(S);
        await store.linkLogin({ identityPoolId: P, providerName: 'login.dev', subject: 'u1', identityId: M, linkedAt: 1 });
        await store.findLogin(P, 'login.dev', 'u1');
        await store.listLogins(M);
        const c = { ...command(M, 'ds', ['k', 'j']), identityPoolId: P };
        await store.writeRecords(c, plan(c, 1, { k: 'v', j: 'w' }));
        await store.getDatasetView(M, 'ds');
        await store.getDataset(M, 'ds');
        await store.listDatasets(M, { limit: 10 });
        await store.listMergedDatasetNames(M, 'ds');
        await store.listRecords(M, 'ds', ALL, { limit: 10, after: { syncCount: 1, key: 'j' } });
        await store.isSessionConsumed(M, { sessionId: c.sessionId, expiresAt: c.sessionExpiresAt });
        await store.getIdentityUsage(M);
        await store.getPoolSyncSettings(P);
        await store.updatePoolSyncSettings(P, (x) => x);
        const device = await store.registerDevice({ deviceId: 'dev', identityId: M, platform: 'APNS', token: 't', createdAt: 1 });
        await store.getDevice(M, device?.deviceId ?? '');
        await store.subscribe(M, 'ds', device?.deviceId ?? '', 1);
        await store.listSubscribedDevices(M, 'ds');
        await store.unsubscribe(M, 'ds', device?.deviceId ?? '');
        await store.deleteDataset(M, 'ds', 5);
        await store.writeRecords(c, plan(c, 2, { k: 'again' }));
        await store.mergeIdentities({ survivorId: S, mergedId: M, now: 9, datasetName: (n) => `${n}.${M}` });
        await store.unlinkLogins(S, [{ providerName: 'login.dev', subject: 'u1' }], 10);
        await store.deleteIdentity(S);
      } finally {
        pg.Client.prototype.query = original;
        await store.close();
      }

      // The column each table would be distributed by (docs/postgres.md); the rest go by identity_id.
      const SHARD_KEY: Record<string, string> = {
        identity_pools: 'pool_id', pool_sync_settings: 'pool_id', login_owners: 'subject', server_secrets: 'name',
        deleted_pools: 'pool_id',
      };
      // EXPLAIN each statement as sent, with sequential scans priced out: a scan that stays sequential has no
      // index to use. Every table scan must be an index scan whose condition binds the key's leading column.
      await s.query('SET enable_seqscan = off');
      const check = async (text: string, values: unknown[]): Promise<string[]> => {
        const problems: string[] = [];
        const { rows } = await s.query(`EXPLAIN (FORMAT JSON) ${text}`, values);
        const walk = (node: PlanNode): void => {
          // ModifyTable names the table written; the rows it writes come from the scans below it (or VALUES).
          if (node['Relation Name'] && node['Node Type'] !== 'ModifyTable') {
            const cond = `${node['Index Cond'] ?? ''} ${node['Recheck Cond'] ?? ''}`;
            const scan = node['Node Type'];
            const column = SHARD_KEY[node['Relation Name']] ?? 'identity_id';
            if (!/Index|Bitmap Heap/.test(scan) || !new RegExp(`\\b${column} = `).test(cond)) {
              problems.push(`${scan} on ${node['Relation Name']} (${cond.trim() || 'no index condition'}) in: ${text.replace(/\s+/g, ' ').slice(0, 160)}`);
            }
          }
          for (const child of node.Plans ?? []) walk(child);
        };
        walk((rows[0] as { 'QUERY PLAN': { Plan: PlanNode }[] })['QUERY PLAN'][0]!.Plan);
        return problems;
      };
      const statements = new Map(seen.map((st) => [st.text, st]));
      expect(statements.size).toBeGreaterThan(40);
      const problems: string[] = [];
      for (const { text, values } of statements.values()) {
        // CreateIdentityPool counts the account's pools for its quota: a control-plane call, as account-wide and as
        // rare as ListIdentityPools.
        if (/COUNT\(\*\) FROM identity_pools/.test(text)) continue;
        problems.push(...(await check(text, values)));
      }
      expect(problems).toEqual([]);
      // The check does catch what it is for: a pool-wide scan (getPoolUsage's kind) and a key-less lookup.
      expect(await check('SELECT SUM(data_storage) FROM datasets WHERE pool_id = $1', ['p'])).toHaveLength(1);
      expect(await check('SELECT 1 FROM consumed_sessions WHERE session_id = $1', ['s'])).toHaveLength(1);
    });

    it('tells a running instance, once, that a newer release migrated the schema beyond what it knows', async () => {
      const s = await freshSchema();
      const ahead: [number, number][] = [];
      const store = await openPostgresStore(options(s.url, {
        schemaCheckIntervalMs: 20, onSchemaAhead: (version, known) => ahead.push([version, known]),
      }));
      try {
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect(ahead).toEqual([]);
        // What a newer release's migration leaves behind.
        await s.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, 0)', [LATEST_SCHEMA_VERSION + 1, 'newer']);
        await vi.waitFor(() => expect(ahead).toEqual([[LATEST_SCHEMA_VERSION + 1, LATEST_SCHEMA_VERSION]]), { timeout: 2000 });
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect(ahead).toHaveLength(1);
      } finally {
        await store.close();
      }
    });

    it('migrates once when several instances start at the same time', async () => {
      const s = await freshSchema();
      const stores = await Promise.all(Array.from({ length: 5 }, () => openPostgresStore(options(s.url))));
      const { rows } = await s.query('SELECT version, name FROM schema_migrations ORDER BY version');
      expect(rows).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
      expect(LATEST_SCHEMA_VERSION).toBe(MIGRATIONS.length);
      // Every instance works on the one schema.
      await stores[0]!.createIdentityPool(pool('us-east-1:p'));
      for (const store of stores) expect(await store.getIdentityPool('us-east-1:p')).toBeDefined();
      await Promise.all(stores.map((store) => store.close()));
    });

    it('migrates, and waits for another instance migrating, beyond the statement timeout requests have', async () => {
      const s = await freshSchema();
      // Another instance's migration, as long as it takes: the advisory lock migrate() takes, held well beyond the
      // store's statement timeout.
      await s.query('BEGIN');
      await s.query('SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))', [0x636f7379]);
      const migrated: (readonly number[])[] = [];
      const opening = openPostgresStore(options(s.url, { statementTimeoutMs: 100, onMigrated: (v) => migrated.push(v) }));
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await s.query('COMMIT');
      const store = await opening;
      expect(migrated).toEqual([MIGRATIONS.map((m) => m.version)]);
      await expect(store.getOrCreateSecret('after', () => 'x')).resolves.toBe('x');
      await store.close();
      // Nothing pending: nothing reported.
      migrated.length = 0;
      await (await openPostgresStore(options(s.url, { onMigrated: (v) => migrated.push(v) }))).close();
      expect(migrated).toEqual([]);
    });

    it('deleting an identity deletes its lock row too, so identity churn leaves no rows behind', async () => {
      const s = await freshSchema();
      const store = await openPostgresStore(options(s.url));
      try {
        await store.createIdentityPool(conformancePool('us-east-1:churn'));
        for (const id of ['us-east-1:wrote', 'us-east-1:never-wrote']) {
          await store.createIdentity(conformanceIdentity(id, 'us-east-1:churn'));
        }
        const c = { ...command('us-east-1:wrote', 'ds', ['k']), identityPoolId: 'us-east-1:churn' };
        await store.writeRecords(c, plan(c, 1, { k: 'v' }));
        expect((await s.query('SELECT identity_id FROM consumed_sessions')).rows).toHaveLength(1);
        for (const id of ['us-east-1:wrote', 'us-east-1:never-wrote']) expect(await store.deleteIdentity(id)).toBe(true);
        expect((await s.query('SELECT identity_id FROM sync_locks')).rows).toEqual([]);
        expect((await s.query('SELECT identity_id FROM consumed_sessions')).rows).toEqual([]);
        // Calls that wait for a deletion's lock (a device registered, a login linked) leave none behind either.
        for (let round = 0; round < 10; round++) {
          const id = `us-east-1:churn-${round}`;
          await store.createIdentity(conformanceIdentity(id, 'us-east-1:churn'));
          await Promise.all([
            store.deleteIdentity(id),
            store.registerDevice({ deviceId: `d-${round}`, identityId: id, platform: 'APNS', token: 't', createdAt: 1 }),
            store.linkLogin({ identityPoolId: 'us-east-1:churn', providerName: 'p', subject: `u-${round}`, identityId: id, linkedAt: 1 }),
          ]);
        }
        expect((await s.query('SELECT identity_id FROM sync_locks')).rows).toEqual([]);
      } finally {
        await store.close();
      }
    });

    it('says to create the schema when the URL selects one that does not exist', async () => {
      await expect(openPostgresStore(options(withSchema(PG_URL, 'cosync_no_such_schema'))))
        .rejects.toThrow(/search_path\) does not exist: create it first/);
    });

    it('refuses a database with a newer schema version, and applies only pending migrations', async () => {
      const s = await freshSchema();
      await (await openPostgresStore(options(s.url))).close();
      const db = createDb(options(s.url));
      try {
        expect(await migrate(db)).toEqual([]);
        const broken = { version: LATEST_SCHEMA_VERSION + 1, name: 'broken', sql: 'CREATE TABLE extra (x int); SELECT nope FROM nowhere;' };
        await expect(migrate(db, [...MIGRATIONS, broken])).rejects.toThrow(/nowhere/);
        expect((await s.query("SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'extra'", [s.name])).rowCount).toBe(0);
        await expect(migrate(db, [...MIGRATIONS, { ...broken, version: LATEST_SCHEMA_VERSION + 2 }])).rejects.toThrow(/expected/);
      } finally {
        await db.end();
      }
      await s.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
        LATEST_SCHEMA_VERSION + 1, 'from the future', Date.now(),
      ]);
      await expect(openPostgresStore(options(s.url))).rejects.toThrow(SchemaTooNewError);
      await expect(openPostgresStore(options(s.url))).rejects.toThrow(/newer than this server supports/);
    });

    it('keeps data across instances: what one store writes, another reads', async () => {
      const s = await freshSchema();
      const a = await openPostgresStore(options(s.url));
      const b = await openPostgresStore(options(s.url));
      const c = command('id-1', 'ds', ['k', 'zero\u0000byte', 'ключ']);
      await a.writeRecords(c, plan(c, 1, { k: 'v', 'zero\u0000byte': 'nul \u0000 inside', 'ключ': '値 😀' }));
      const records = await b.listRecords('id-1', 'ds', ALL, { limit: 10 });
      expect(records.map((r) => [r.key, r.value])).toEqual([
        ['k', 'v'], ['zero\u0000byte', 'nul \u0000 inside'], ['ключ', '値 😀'],
      ]);
      expect(await b.isSessionConsumed('id-1', { sessionId: c.sessionId, expiresAt: c.sessionExpiresAt })).toBe(true);
      expect(await b.getOrCreateSecret('shared', () => 'from b')).toBe(await a.getOrCreateSecret('shared', () => 'from a'));
      await Promise.all([a.close(), b.close()]);
    });

    it('serialises writers of one dataset across instances: one winner per expected count, no repeated or skipped count', async () => {
      const s = await freshSchema();
      const stores = await Promise.all([1, 2, 3].map(() => openPostgresStore(options(s.url, { poolSize: 3 }))));
      // Rounds of 12 writers (4 per instance) that all expect the dataset's current count: exactly one wins each.
      const winners: number[] = [];
      for (let round = 0; round < 5; round++) {
        const expected = round;
        const outcomes = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => {
          const c = command('id-1', 'ds', ['k']);
          return stores[i % 3]!.writeRecords(c, (state) => {
            const count = state.dataset?.syncCount ?? 0;
            if (count !== expected) throw errors.conflict(`Current SyncCount for: k is: ${count} not: ${expected}`);
            return plan(c, count + 1, { k: `round ${round} writer ${i}` })(state);
          });
        }));
        const won = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
        expect(won).toHaveLength(1);
        for (const o of outcomes) if (o.status === 'rejected') expect((o.reason as ServiceError).code).toBe('ResourceConflictException');
        winners.push(won[0]!.dataset.syncCount);
      }
      expect(winners).toEqual([1, 2, 3, 4, 5]);
      // Read-and-increment writers on all instances at once: every count from 6 to 35 exactly once.
      const counts = await Promise.all(Array.from({ length: 30 }, (_, i) => {
        const c = command('id-1', 'ds', ['n']);
        return stores[i % 3]!.writeRecords(c, (state) => plan(c, (state.dataset?.syncCount ?? 0) + 1, { n: String(i) })(state));
      }));
      expect(counts.map((r) => r.dataset!.syncCount).sort((x, y) => x - y)).toEqual(Array.from({ length: 30 }, (_, i) => i + 6));
      expect((await stores[0]!.getDataset('id-1', 'ds'))?.syncCount).toBe(35);
      await Promise.all(stores.map((store) => store.close()));
    });

    it('holds the dataset quota across instances: racing creations of different datasets see each other', async () => {
      const s = await freshSchema();
      const stores = await Promise.all([1, 2].map(() => openPostgresStore(options(s.url))));
      const outcomes = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => {
        const c = command('id-1', `ds-${i}`, ['k']);
        return stores[i % 2]!.writeRecords(c, (state) => {
          if (state.liveDatasetCount >= 3) throw errors.limitExceeded('too many datasets');
          return plan(c, (state.dataset?.syncCount ?? 0) + 1, { k: 'v' })(state);
        });
      }));
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(3);
      expect(await stores[0]!.listDatasets('id-1', { limit: 20 })).toHaveLength(3);
      await Promise.all(stores.map((store) => store.close()));
    });

    it('commits an UpdateRecords in two round trips (measured through a proxy that delays every answer)', async () => {
      const s = await freshSchema();
      const proxy = await startTcpProxy(pgTarget(PG_URL));
      const store = await openPostgresStore(options(viaPort(s.url, proxy.port), { poolSize: 1 }));
      try {
        const warm = command('id-1', 'ds', ['k']);
        await store.writeRecords(warm, plan(warm, 1, { k: 'v' }));
        proxy.delayMs = 80;
        // Elapsed time in units of the delay; the least of three runs, so a stall of a busy machine does not count.
        const roundTrips = async (work: () => Promise<unknown>) => {
          let least = Infinity;
          for (let i = 0; i < 3; i++) {
            const start = performance.now();
            await work();
            least = Math.min(least, (performance.now() - start) / proxy.delayMs);
          }
          return least;
        };
        let count = 1;
        const write = await roundTrips(() => {
          const c = command('id-1', 'ds', ['k', 'other']);
          return store.writeRecords(c, plan(c, ++count, { k: `v${count}`, other: 'x' }));
        });
        const conflict = await roundTrips(() => store.writeRecords(command('id-1', 'ds', ['k']), () => {
          throw errors.conflict('stale');
        }).catch(() => {}));
        const read = await roundTrips(() => store.getDataset('id-1', 'ds'));
        // Each figure is the number of round trips plus a fraction of one for the work itself.
        console.log(`round trips measured: UpdateRecords commit ${write.toFixed(2)}, conflict ${conflict.toFixed(2)}, read ${read.toFixed(2)}`);
        expect(Math.floor(write)).toBe(2);
        expect(Math.floor(conflict)).toBe(2);
        expect(Math.floor(read)).toBe(1);
      } finally {
        proxy.delayMs = 0;
        await store.close();
        await proxy.close();
      }
    });

    it('survives the database going away: calls fail meanwhile, the pool reconnects by itself, nothing crashes', async () => {
      const s = await freshSchema();
      const proxy = await startTcpProxy(pgTarget(PG_URL));
      const poolErrors: Error[] = [];
      const store = await openPostgresStore(options(viaPort(s.url, proxy.port), {
        connectTimeoutMs: 1000, onPoolError: (e) => poolErrors.push(e),
      }));
      try {
        const first = command('id-1', 'ds', ['k']);
        await store.writeRecords(first, plan(first, 1, { k: 'v' }));
        await Promise.all([store.getDataset('id-1', 'ds'), store.getDataset('id-1', 'ds'), store.getIdentity('x')]);

        // Connections drop while idle (pool 'error' events) and new ones are refused.
        await proxy.cut();
        await new Promise((resolve) => setTimeout(resolve, 50));
        await expect(store.getDataset('id-1', 'ds')).rejects.toThrow();
        const during = command('id-1', 'ds', ['k']);
        await expect(store.writeRecords(during, plan(during, 2, { k: 'lost' }))).rejects.toThrow();
        expect(poolErrors.length).toBeGreaterThan(0);

        await proxy.restore();
        expect((await store.getDataset('id-1', 'ds'))?.syncCount).toBe(1);

        // A connection that breaks in the middle of a transaction (between read and write) fails that call only.
        const torn = command('id-1', 'ds', ['k']);
        await expect(store.writeRecords(torn, (state) => {
          void proxy.cut();
          return plan(torn, 2, { k: 'torn' })(state);
        })).rejects.toThrow();
        await proxy.restore();
        const after = command('id-1', 'ds', ['k']);
        await store.writeRecords(after, plan(after, 2, { k: 'after' }));
        expect((await store.listRecords('id-1', 'ds', ALL, { limit: 10 })).map((r) => r.value)).toEqual(['after']);
      } finally {
        await store.close();
        await proxy.close();
      }
    });

    it('recovers when the server terminates its connections (as a restart does), retrying what is safe to retry', async () => {
      const s = await freshSchema();
      const app = `cosync-restart-${s.name}`;
      const url = new URL(s.url);
      url.searchParams.set('application_name', app);
      const poolErrors: Error[] = [];
      const store = await openPostgresStore(options(url.toString(), { onPoolError: (e) => poolErrors.push(e) }));
      try {
        await store.createIdentity(conformanceIdentity('id-1', 'pool-a'));
        // Four idle connections, then the server ends them all. Calls made at once meet connections the pool still
        // believes alive: reads, idempotent batches and transactions that had not sent COMMIT retry on others.
        for (let round = 0; round < 3; round++) {
          await Promise.all([1, 2, 3, 4].map((i) => store.getDataset(`warm-${i}`, 'ds')));
          const killed = await s.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [app]);
          expect(killed.rowCount).toBe(4);
          const c = command('id-1', 'ds', ['k']);
          const [written, , device, empty] = await Promise.all([
            store.writeRecords(c, plan(c, round + 1, { k: `v${round}` })),
            store.getDataset('id-1', 'ds'),
            store.registerDevice({ deviceId: `dev-${round}`, identityId: 'id-1', platform: 'APNS', token: 't', createdAt: 1 }),
            // The shared throttle's token take, which every request of the moment waits for, reads included.
            store.takeTokens!([{ name: `i:id-1:${round}`, ratePerSecond: 10, burst: 10 }]),
          ]);
          expect(written.dataset.syncCount).toBe(round + 1);
          expect(device?.deviceId).toBe('dev-0');
          expect(empty).toBeUndefined();
        }
        expect((await store.getDataset('id-1', 'ds'))?.syncCount).toBe(3);
        // Above, calls may take every connection before its termination notice is read, so no idle error need
        // arise there. Connections ended while nothing uses them must reach the pool's error hook, not crash.
        await Promise.all([1, 2, 3, 4].map((i) => store.getDataset(`warm-${i}`, 'ds')));
        await s.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [app]);
        for (let waited = 0; poolErrors.length === 0 && waited < 5000; waited += 20) await new Promise((r) => setTimeout(r, 20));
        expect(poolErrors.length).toBeGreaterThan(0);
        expect((await store.getDataset('id-1', 'ds'))?.syncCount).toBe(3);
      } finally {
        await store.close();
      }
    });

    it('a write for an identity with no row leaves no lock row behind; one with a row keeps its lock row', async () => {
      const s = await freshSchema();
      const store = await openPostgresStore(options(s.url));
      try {
        await store.createIdentity({ identityId: 'id-known', identityPoolId: 'pool-a', createdAt: 1, lastModifiedAt: 1, disabled: false });
        const refused = new Error('no such identity');
        for (const id of ['id-known', 'id-ghost']) {
          const c = command(id, 'ds', ['k']);
          await expect(store.writeRecords(c, () => { throw refused; })).rejects.toBe(refused);
        }
        const { rows } = await s.query('SELECT identity_id FROM sync_locks ORDER BY identity_id');
        expect(rows.map((r: { identity_id: string }) => r.identity_id)).toEqual(['id-known']);
      } finally {
        await store.close();
      }
    });

    it('answers statement timeouts as errors and keeps working', async () => {
      const s = await freshSchema();
      const store = await openPostgresStore(options(s.url, { statementTimeoutMs: 1000 }));
      const blocker = new pg.Client({ connectionString: s.url });
      await blocker.connect();
      try {
        await store.createIdentity({ identityId: 'id-1', identityPoolId: 'pool-a', createdAt: 1, lastModifiedAt: 1, disabled: false });
        const c = command('id-1', 'ds', ['k']);
        await store.writeRecords(c, plan(c, 1, { k: 'v' }));
        // Another session holds the identity's lock: the writer waits, then the database cancels it.
        await blocker.query('BEGIN');
        await blocker.query("SELECT 1 FROM sync_locks WHERE identity_id = 'id-1' FOR UPDATE");
        const waiting = command('id-1', 'ds', ['k']);
        await expect(store.writeRecords(waiting, plan(waiting, 2, { k: 'late' }))).rejects.toThrow(/statement timeout/);
        await blocker.query('ROLLBACK');
        await store.writeRecords(waiting, plan(waiting, 2, { k: 'in time' }));
        expect((await store.getDataset('id-1', 'ds'))?.syncCount).toBe(2);
      } finally {
        await blocker.end();
        await store.close();
      }
    });
  });
});

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Cond'?: string;
  'Recheck Cond'?: string;
  Plans?: PlanNode[];
}

// --- fixtures ----------------------------------------------------------------------------------------------------

const ALL = { sinceSyncCount: 0, upToSyncCount: Number.MAX_SAFE_INTEGER };
let sessions = 0;

function command(identityId: string, datasetName: string, keys: string[]): WriteCommand {
  return { identityPoolId: 'pool-a', identityId, datasetName, keys, sessionId: `pg-session-${++sessions}`, sessionExpiresAt: 1e12 };
}

/** A plan that puts `values` at `syncCount` (sizes are not tracked: these tests look at counts and values). */
function plan(c: WriteCommand, syncCount: number, values: Record<string, string>) {
  return (_state?: DatasetWriteState): WritePlan & { dataset: DatasetRow } => ({
    dataset: {
      identityId: c.identityId, datasetName: c.datasetName, syncCount, deleted: false, lastDeletedAtSyncCount: null,
      createdAt: 1, lastModifiedAt: 1, lastModifiedBy: 'tester', numRecords: Object.keys(values).length, dataStorage: 0,
      mergeParent: null,
    },
    records: Object.entries(values).map(([key, value]) => ({
      key, value, syncCount, lastModifiedAt: 1, lastModifiedBy: 'tester', deviceLastModifiedAt: 1,
    })),
  });
}

function pool(id: string) {
  return {
    identityPoolId: id, identityPoolName: 'p', allowUnauthenticatedIdentities: true, allowClassicFlow: false,
    supportedLoginProviders: {}, developerProviderName: null, openIdConnectProviderArns: [], cognitoIdentityProviders: [],
    samlProviderArns: [], tags: {}, roles: {}, roleMappings: {}, principalTagMaps: {}, createdAt: 1,
  };
}

