import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ListRecordsCommand, UpdateRecordsCommand, type RecordPatch } from '@aws-sdk/client-cognito-sync';
import { pino } from 'pino';
import { Database } from '../../src/storage/sqlite/driver.js';
import { clients, poolWithIdentity, startServer } from '../helpers/server.js';
import { expectError } from '../api/sync-helpers.js';
import { DatasetWriter, INCONSISTENT_DATASETS_SQL, readDataset, seededRandom } from './support.js';

/**
 * SQLite on a full disk: the data folder is a small tmpfs (mounting one needs root; without it the test is skipped
 * and says why), filled up by a file while the server runs. Writes that need space answer 500
 * InternalErrorException, leave nothing behind, and reads keep working; once the file is gone, the server writes
 * again without a restart, and the database is intact.
 */

const mountPoint = mkdtempSync(join(tmpdir(), 'cosync-full-'));
const SKIP_REASON = mountTmpfs(mountPoint);
if (SKIP_REASON) console.warn(`[reliability/faults-sqlite.test.ts] disk-full test SKIPPED: ${SKIP_REASON}`);

function mountTmpfs(at: string): string | undefined {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m,mode=0700', 'tmpfs', at], { stdio: 'pipe' });
    return undefined;
  } catch (error) {
    return `cannot mount a small tmpfs to fill up (needs root): ${String((error as { stderr?: Buffer }).stderr ?? error).trim()}`;
  }
}

afterAll(() => {
  if (!SKIP_REASON) execFileSync('umount', [mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
});

/** Writes a file until the file system has no space left; returns its path. */
function fillUp(dir: string): string {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
    // Smaller pieces take the last bytes, so no write of the database can slip in.
    for (let size = 32 * 1024; size >= 512; size /= 2) {
      try {
        for (;;) writeSync(fd, chunk, 0, size);
      } catch {
        // ENOSPC at this size; try the next smaller one
      }
    }
  } finally {
    closeSync(fd);
  }
  return path;
}

/** The big records of one write: three of 300 KB, so the write-ahead log must grow by about a megabyte. */
const bigPatches = (tag: string): RecordPatch[] =>
  [1, 2, 3].map((n) => ({ Op: 'replace', Key: `big${n}`, Value: `${tag}${n}`.padEnd(300_000, '.'), SyncCount: 0 }));

describe('SQLite on a full disk', () => {
  it.skipIf(SKIP_REASON !== undefined)(
    `answers 500 InternalErrorException, writes nothing and recovers by itself${SKIP_REASON ? ` (SKIPPED: ${SKIP_REASON})` : ''}`,
    async () => {
      const file = join(mountPoint, 'cosync.sqlite');
      const logged: string[] = [];
      const logger = pino({ level: 'error' }, { write: (line: string) => void logged.push(line) });
      const t = await startServer({ config: { storage: { file } }, logger });
      try {
        const { sync } = clients(t);
        const { poolId, identityId } = await poolWithIdentity(t);
        const random = seededRandom(7);
        const ref = (DatasetName: string) => ({ IdentityPoolId: poolId, IdentityId: identityId, DatasetName });
        const victim = new DatasetWriter(ref('victim'), random);
        const bystander = new DatasetWriter(ref('bystander'), random);
        for (let i = 0; i < 5; i++) await Promise.all([victim.push(sync), bystander.push(sync)]);
        const before = await readDataset(sync, victim.ref);

        // A big write, with small writes of another dataset in the same batches: those may fit in the last bytes or
        // fail, but each whole. The disk fills at COMMIT, when the log is written: the driver's page cache (16 MB)
        // holds more than one request can write, so SQLite never spills to the log inside a command's savepoint.
        let filler = fillUp(mountPoint);
        const { SyncSessionToken } = await sync.send(new ListRecordsCommand(victim.ref));
        const bigWrite = () => sync.send(new UpdateRecordsCommand({ ...victim.ref, SyncSessionToken, RecordPatches: bigPatches('v') }));
        for (let attempt = 0; attempt < 3; attempt++) {
          const [, small] = await Promise.allSettled([expectError(bigWrite(), 'InternalErrorException', 500), bystander.push(sync)]);
          if (small.status === 'rejected') expect(small.reason).toMatchObject({ name: 'InternalErrorException' });
          expect(await readDataset(sync, victim.ref)).toEqual(before);
          await bystander.verify(sync);
        }
        expect(logged.join('')).toContain('SQLITE_FULL');

        unlinkSync(filler);
        const out = await bigWrite();
        expect(out.Records?.map((r) => [r.Key, r.SyncCount])).toEqual([['big1', 6], ['big2', 6], ['big3', 6]]);
        for (let i = 0; i < 3; i++) await bystander.push(sync);
        await bystander.verify(sync);
      } finally {
        await t.close();
      }
      // Once the server has let go of the file (it holds it locked while it runs).
      const db = new Database(file, { readonly: true });
      try {
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
        expect(db.prepare(INCONSISTENT_DATASETS_SQL).all()).toEqual([]);
      } finally {
        db.close();
      }
    },
  );
});
