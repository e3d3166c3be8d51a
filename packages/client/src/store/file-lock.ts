import { open, readFile, rename, rm, link, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { StoreInUseError } from './errors.js';

/** The lock file in a FileStore's directory (never taken for a key's file: those end in `.json`). */
export const LOCK_FILE = 'cosync.lock';

/** What a lock file holds: who holds the store. */
export interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
  /** When the holding process started (epoch ms): the same in each of its threads, another for a later process. */
  readonly processStarted?: number;
}

/** This process's start (epoch ms), as every thread of it computes it, give or take a few ms. */
const PROCESS_STARTED = Math.round(Date.now() - process.uptime() * 1000);
/** How far two threads' readings of PROCESS_STARTED may differ and still name one process. */
const SAME_PROCESS_MS = 1000;

/** A lock file left unparseable this long is taken for the remains of a crash during its creation. */
const UNREADABLE_STALE_MS = 10_000;

/** Lock paths held (or being taken) by FileStores of this process. */
const heldHere = new Set<string>();

export interface FileLock {
  /** Removes the lock file; the directory is free for another store. */
  release(): Promise<void>;
}

/**
 * Takes the directory's lock: creates the lock file exclusively (O_EXCL) with this process's pid and host. A lock
 * file of a dead process (same host, pid no longer running, or this very pid when no store of this process holds
 * it: a restarted container) is stale and taken over. Throws StoreInUseError when a live client holds it.
 */
export async function acquireFileLock(directory: string): Promise<FileLock> {
  const path = resolve(directory, LOCK_FILE);
  if (heldHere.has(path)) throw inUse(path, 'another FileStore of this process');
  heldHere.add(path);
  try {
    await takeLock(path);
  } catch (err) {
    heldHere.delete(path);
    throw err;
  }
  return {
    release: async () => {
      await rm(path, { force: true });
      heldHere.delete(path);
    },
  };
}

async function takeLock(path: string): Promise<void> {
  // A few rounds: each ends by creating the lock, or by finding it live, unless another process races us.
  for (let round = 0; round < 5; round++) {
    if (await createLockFile(path)) return;
    const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (text === undefined) continue; // released meanwhile
    const owner = parseOwner(text);
    if (!(await isStale(path, owner))) throw inUse(path, owner ? describe(owner) : 'a client that is still creating it');
    await removeStale(path, text);
  }
  throw inUse(path, 'clients that keep taking it');
}

/** Creates the lock file with our owner record; false if it exists. */
async function createLockFile(path: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    const owner: LockOwner = {
      pid: process.pid, host: hostname(), since: new Date().toISOString(), processStarted: PROCESS_STARTED,
    };
    await handle.writeFile(JSON.stringify(owner), 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  return true;
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const owner = JSON.parse(text) as Partial<LockOwner> | null;
    return owner && Number.isInteger(owner.pid) && typeof owner.host === 'string' ? (owner as LockOwner) : undefined;
  } catch {
    return undefined;
  }
}

async function isStale(path: string, owner: LockOwner | undefined): Promise<boolean> {
  if (!owner) {
    const age = await stat(path).then((s) => Date.now() - s.mtimeMs, () => Infinity);
    return age > UNREADABLE_STALE_MS;
  }
  if (owner.host !== hostname()) return false; // another machine's process: no way to tell, so it holds
  // Our pid, not held by this thread (checked first): another thread of this process (a worker thread, with its own
  // copy of this module) holds it, or a former process had our pid (a restarted container), told apart by start.
  if (owner.pid === process.pid) {
    return owner.processStarted === undefined || Math.abs(owner.processStarted - PROCESS_STARTED) > SAME_PROCESS_MS;
  }
  try {
    process.kill(owner.pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH'; // EPERM: alive, someone else's
  }
}

/**
 * Removes a stale lock file, but only the one judged stale: it is first renamed aside (atomic), and if what was
 * moved is not that file (another process replaced it meanwhile) it is linked back. Then the caller tries again.
 */
async function removeStale(path: string, staleText: string): Promise<void> {
  const aside = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.stale`;
  try {
    await rename(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if ((await readFile(aside, 'utf8').catch(() => undefined)) !== staleText) {
    await link(aside, path).catch(() => undefined); // EEXIST: a newer lock is in place already
  }
  await rm(aside, { force: true });
}

function describe(owner: LockOwner): string {
  const where = owner.host === hostname() ? '' : ` on host ${owner.host}`;
  return `process ${owner.pid}${where} (since ${owner.since})`;
}

function inUse(path: string, holder: string): StoreInUseError {
  return new StoreInUseError(
    `FileStore: the store is in use by ${holder}, which holds ${path}. One client at a time may use a store directory; ` +
    'retry after that client has closed. If no client runs there any more (e.g. the pid now belongs to another ' +
    'program), delete the lock file.',
  );
}
