/**
 * Shipped migrations are never edited: a database records the versions it ran, not their text, so a change to a
 * shipped migration never reaches the databases that ran it. (PostgreSQL's migration 4 was once edited to add a
 * function; databases it had reached lacked it, and every throttled call failed until migration 5 created it.)
 * A new migration is appended, with its digest added here when it ships.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS as POSTGRES } from '../../src/storage/postgres/migrations.js';
import { MIGRATIONS as SQLITE } from '../../src/storage/sqlite/migrations.js';
import type { Migration } from '../../src/storage/migration.js';

/** The first 16 hex digits of the SHA-256 of each shipped migration's SQL, by version. */
const SHIPPED = {
  sqlite: ['680a0aac1766b601', '7002c664ad3c4245', 'd1d71db0a2e08d4f', 'e858aa58b14cb81f', 'f973e83ddab9de0e'],
  postgres: ['f7e4ad81006a4084', '5dc72595f0827c9e', '800a334435fa08e6', '53ae0e1cb5fec0f5', 'c554c71bee7c69be'],
};

const digest = (m: Migration) => createHash('sha256').update(m.sql).digest('hex').slice(0, 16);

describe('shipped migrations', () => {
  it.each([['sqlite', SQLITE], ['postgres', POSTGRES]] as const)('%s: are unchanged, in order, none removed', (engine, migrations) => {
    const shipped = SHIPPED[engine];
    expect(migrations.length).toBeGreaterThanOrEqual(shipped.length);
    expect(migrations.slice(0, shipped.length).map(digest)).toEqual(shipped);
  });
});
