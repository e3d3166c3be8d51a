import pg from 'pg';
import { beforeAll, beforeEach, expect, it } from 'vitest';
import { openPostgresStore, type PostgresStoreOptions } from '../../src/storage/postgres/postgres-store.js';
import { ALL, command, identity, pool, write } from './conformance.js';
import { describeWithPostgres, sharedSchema } from './postgres-support.js';

/**
 * DeleteIdentityPool of a big pool on PostgreSQL (pool-deletion.ts): no statement may come near the statement
 * timeout whatever the pool's size (one DELETE of all its records did, and the pool could never be deleted), and a
 * deletion stopped half-way is finished by the next instance that opens the store.
 */
describeWithPostgres('DeleteIdentityPool of a big pool on PostgreSQL', 'test/storage/postgres-big-pool-deletion.test.ts', () => {
  const P = 'us-east-1:big-pool';
  const KEPT = 'us-east-1:kept-pool';
  const schema = sharedSchema('big_pool_deletion');
  const options = (over: Partial<PostgresStoreOptions> = {}): PostgresStoreOptions => ({
    url: schema.url, poolSize: 4, statementTimeoutMs: 5000, connectTimeoutMs: 2000, ...over,
  });

  beforeAll(async () => {
    await (await openPostgresStore(options())).close(); // creates the tables
  });
  beforeEach(async () => {
    await schema.truncate();
  });

  /** `identities` identities in the pool, each with one dataset of `records` records, written by SQL (fast). */
  async function fillPool(identities: number, records: number): Promise<void> {
    await schema.query(
      `INSERT INTO identities (identity_id, pool_id, created_at, last_modified_at, disabled)
       SELECT 'us-east-1:big-' || lpad(i::text, 6, '0'), $1, 0, 0, false FROM generate_series(1, $2) AS i`,
      [P, identities],
    );
    await schema.query(
      `INSERT INTO datasets (identity_id, name, pool_id, sync_count, deleted, last_deleted_at_sync_count, created_at,
         last_modified_at, last_modified_by, num_records, data_storage, merge_parent)
       SELECT identity_id, 'ds', $1, 1, false, NULL, 0, 0, 'filler', $2, 0, NULL FROM identities WHERE pool_id = $1`,
      [P, records],
    );
    await schema.query(
      `INSERT INTO records (identity_id, dataset_name, key, value, sync_count, last_modified_at, last_modified_by,
         device_last_modified_at)
       SELECT i.identity_id, 'ds', convert_to('key-' || k, 'UTF8'), convert_to(repeat('v', 64), 'UTF8'), 1, 0, 'filler', 0
       FROM identities i CROSS JOIN generate_series(1, $2) AS k WHERE i.pool_id = $1`,
      [P, records],
    );
    await schema.query('ANALYZE');
  }

  async function leftovers(): Promise<Record<string, number>> {
    const { rows } = await schema.query(
      `SELECT (SELECT COUNT(*) FROM identities WHERE pool_id = $1)::int AS identities,
              (SELECT COUNT(*) FROM datasets WHERE pool_id = $1)::int AS datasets,
              (SELECT COUNT(*) FROM records WHERE identity_id LIKE 'us-east-1:big-%')::int AS records,
              (SELECT COUNT(*) FROM sync_locks WHERE pool_id = $1)::int AS sync_locks`,
      [P],
    );
    return Object.fromEntries(Object.entries(rows[0] as Record<string, number>).filter(([, n]) => n > 0));
  }

  async function until(condition: () => Promise<boolean>, ms = 15_000): Promise<void> {
    for (const deadline = Date.now() + ms; !(await condition());) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  it('deletes a pool whose records one statement could not delete within a 200 ms statement timeout', async () => {
    const store = await openPostgresStore(options({ statementTimeoutMs: 200 }));
    await store.createIdentityPool(pool(P));
    await store.createIdentityPool(pool(KEPT));
    await store.createIdentity(identity('us-east-1:kept', KEPT));
    // Fewer identities than one batch takes (its records then go in chunks of their own), holding many records.
    await fillPool(400, 500);
    expect((await leftovers()).records).toBe(200_000);
    // Measured here: one DELETE of these records takes about 1 s, five times the timeout.

    // Other identities keep being written meanwhile: no lock of the deletion is theirs.
    let deleting = true;
    let written = 0;
    const writer = (async () => {
      for (; deleting; written++) await write(store, 'us-east-1:kept', 'ds', { k: String(written) }, { poolId: KEPT });
    })();
    const [deleted] = await Promise.all([store.deleteIdentityPool(P).finally(() => (deleting = false)), writer]);
    expect(deleted).toBe(true);
    expect(written).toBeGreaterThan(5);
    expect(await leftovers()).toEqual({});
    expect((await schema.query('SELECT pool_id FROM deleted_pools')).rows).toEqual([{ pool_id: P }]);
    expect(await store.getIdentityPool(KEPT)).toBeDefined();
    await store.close();
  }, 30_000);

  it('waits for a write in flight when the pool was marked (its identity locked), and deletes what it stored', async () => {
    const store = await openPostgresStore(options());
    await store.createIdentityPool(pool(P));
    await fillPool(3, 10);
    const X = 'us-east-1:big-000002';
    // A write that applied its plan before the mark and has not committed yet: it holds its identity's lock row.
    const writer = new pg.Client({ connectionString: schema.url });
    await writer.connect();
    try {
      await writer.query('BEGIN');
      await writer.query(
        `INSERT INTO sync_locks (identity_id, pool_id) VALUES ($1, $2)
         ON CONFLICT (identity_id) DO UPDATE SET pool_id = excluded.pool_id WHERE false`, [X, P]);
      await writer.query(
        `INSERT INTO records (identity_id, dataset_name, key, value, sync_count, last_modified_at, last_modified_by,
           device_last_modified_at) VALUES ($1, 'ds', convert_to('late', 'UTF8'), NULL, 2, 0, 'late', 0)`, [X]);
      const deleted = store.deleteIdentityPool(P);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await writer.query('COMMIT');
      expect(await deleted).toBe(true);
    } finally {
      await writer.end();
    }
    expect(await leftovers()).toEqual({});
    await store.close();
  });

  it('a deletion stopped half-way is finished by the next open; meanwhile a write of the pool writes nothing', async () => {
    const bystander = await openPostgresStore(options()); // open before: it finds nothing to finish
    const first = await openPostgresStore(options());
    await first.createIdentityPool(pool(P));
    await fillPool(2000, 60);
    const deleting = first.deleteIdentityPool(P);
    // Stopped once the pool is marked (its row is gone with the mark), as a shutdown or a crash would stop it.
    await until(async () => (await schema.query('SELECT 1 FROM identity_pools WHERE pool_id = $1', [P])).rows.length === 0);
    await first.close();
    await expect(deleting).rejects.toThrow(/closed/);
    const left = await leftovers();
    expect(left.identities).toBeGreaterThan(0);

    // An identity of the pool whose row is still there reads as gone; its write is refused (the mark), nothing is
    // stored.
    const last = 'us-east-1:big-002000';
    expect((await schema.query('SELECT 1 FROM identities WHERE identity_id = $1', [last])).rows).toHaveLength(1);
    expect(await bystander.getIdentity(last)).toBeUndefined();
    await write(bystander, last, 'late', { k: 'v' }, { poolId: P });
    expect(await bystander.getDataset(last, 'late')).toBeUndefined();

    const next = await openPostgresStore(options());
    await until(async () => Object.keys(await leftovers()).length === 0);
    expect(await next.getIdentity(last)).toBeUndefined();
    await Promise.all([next.close(), bystander.close()]);
  }, 30_000);

  it('leaves alone an identity of another pool that has a lock row naming the pool (a refused write made it)', async () => {
    const store = await openPostgresStore(options());
    try {
      await store.createIdentityPool(pool(P));
      await store.createIdentityPool(pool(KEPT));
      await store.createIdentity(identity('us-east-1:other', KEPT));
      const refused = command('us-east-1:other', 'x', ['k'], { identityPoolId: P });
      await expect(store.writeRecords(refused, () => { throw new Error('refused by its plan'); })).rejects.toThrow();
      await write(store, 'us-east-1:other', 'own', { a: '1' }, { poolId: KEPT });
      await store.deleteIdentityPool(P);
      expect((await store.listRecords('us-east-1:other', 'own', ALL, { limit: 10 })).map((r) => r.value)).toEqual(['1']);
      expect((await schema.query('SELECT pool_id FROM sync_locks WHERE identity_id = $1', ['us-east-1:other'])).rows)
        .toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('does not resume the deletion of a pool that exists again under the same ID', async () => {
    const store = await openPostgresStore(options());
    await store.createIdentityPool(pool(P));
    expect(await store.deleteIdentityPool(P)).toBe(true);
    await store.createIdentityPool(pool(P));
    await store.createIdentity(identity('us-east-1:again', P), { poolMustExist: true });
    await store.close();
    const reopened = await openPostgresStore(options());
    try {
      await new Promise((r) => setTimeout(r, 300));
      expect(await reopened.getIdentity('us-east-1:again')).toBeDefined();
    } finally {
      await reopened.close();
    }
  });
});
