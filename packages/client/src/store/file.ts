import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { StoredValue } from '../types.js';
import { CorruptValueError } from './errors.js';
import { acquireFileLock, type FileLock } from './file-lock.js';
import type { LocalStore } from './store.js';

export { CorruptValueError, StoreInUseError } from './errors.js';

/**
 * Longest readable file name (`<encoded key>.json`), in bytes (all ASCII). File systems allow 255; versions before
 * hashed names wrote `<name>.json.<pid>.<n>.tmp` first, so every file they managed to write has a name of at most
 * 247 bytes, and stays readable under this limit.
 */
const MAX_READABLE_NAME = 250;
/** How much of the encoded key a hashed name shows, for people looking at the directory. */
const HASHED_NAME_VISIBLE = 100;

/** A hashed file holds its key next to its value, since the name cannot be decoded back. */
interface HashedFile {
  readonly key: string;
  readonly value: StoredValue;
}

/**
 * A durable store for Node.js: one JSON file per key in a directory. A value is written to a temporary file,
 * fsynced, renamed over the old file and the directory is fsynced, so a crash leaves the old or the new value.
 * Writes to one key are applied in call order. No native dependency.
 *
 * File names: the key percent-encoded (every character outside [A-Za-z0-9_-], `.` too, so no `..`) plus `.json`
 * when that fits in 250 bytes; otherwise the start of that encoding, `~`, the key's SHA-256 in hex and `.json`
 * (`~` never occurs in an encoded key, so the two kinds never meet), the file then holding `{ key, value }`.
 *
 * One store at a time per directory: the first use takes the lock file `cosync.lock` (see file-lock.ts) and
 * close() releases it; a second store gets StoreInUseError until then.
 */
export class FileStore implements LocalStore {
  private lock: Promise<FileLock> | undefined;
  private readonly queues = new Map<string, Promise<void>>();
  private tempCounter = 0;

  constructor(private readonly directory: string) {}

  /**
   * The value of `key`, undefined if none. Throws CorruptValueError (naming the file and the key) for a file that
   * is not a stored value; `delete(key)` then removes it.
   */
  async get(key: string): Promise<StoredValue | undefined> {
    await this.ready();
    await this.queues.get(key);
    const { path, hashed } = this.fileOf(key);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    if (!hashed) return parseValue(text, key, path);
    const file = parseHashed(text, path, key);
    if (file.key !== key) throw corrupt(key, path, `it holds the key ${JSON.stringify(file.key)}`);
    return file.value;
  }

  set(key: string, value: StoredValue): Promise<void> {
    const { path, hashed } = this.fileOf(key);
    const text = JSON.stringify(hashed ? ({ key, value } satisfies HashedFile) : value);
    return this.enqueue(key, () => this.writeAtomically(path, text));
  }

  delete(key: string): Promise<void> {
    return this.enqueue(key, async () => {
      await rm(this.fileOf(key).path, { force: true });
      await this.syncDirectory();
    });
  }

  /** Keys starting with `prefix`; a hashed file is read for its key (only if its visible part can match). */
  async keys(prefix: string): Promise<string[]> {
    await this.ready();
    const encodedPrefix = encodeKey(prefix);
    const found: string[] = [];
    for (const name of await readdir(this.directory)) {
      if (!name.endsWith('.json')) continue;
      const visible = name.slice(0, -'.json'.length);
      if (!visible.includes('~')) {
        const key = decodeURIComponent(visible);
        if (key.startsWith(prefix)) found.push(key);
        continue;
      }
      const shown = visible.slice(0, visible.indexOf('~'));
      const n = Math.min(shown.length, encodedPrefix.length);
      if (shown.slice(0, n) !== encodedPrefix.slice(0, n)) continue;
      const path = join(this.directory, name);
      const { key } = parseHashed(await readFile(path, 'utf8'), path);
      if (key.startsWith(prefix)) found.push(key);
    }
    return found.sort();
  }

  /** Waits for pending writes and releases the directory's lock (a later call takes it again). */
  async close(): Promise<void> {
    await Promise.all(this.queues.values());
    const lock = this.lock;
    this.lock = undefined;
    const held = await lock?.catch(() => undefined);
    await held?.release();
  }

  /** The directory exists and this store holds its lock; a failure (StoreInUseError) is retried by the next call. */
  private ready(): Promise<void> {
    if (!this.lock) {
      const lock = mkdir(this.directory, { recursive: true }).then(() => acquireFileLock(this.directory));
      this.lock = lock;
      lock.catch(() => { if (this.lock === lock) this.lock = undefined; });
    }
    return this.lock.then(() => undefined);
  }

  private enqueue(key: string, work: () => Promise<void>): Promise<void> {
    const previous = this.queues.get(key) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.ready()).then(work);
    const settled = next.catch(() => undefined);
    this.queues.set(key, settled);
    void settled.then(() => { if (this.queues.get(key) === settled) this.queues.delete(key); });
    return next;
  }

  /** Temporary names are short and free of the key, so they fit whatever the target's length; never `.json`. */
  private async writeAtomically(target: string, text: string): Promise<void> {
    const temp = join(this.directory, `~${process.pid}-${++this.tempCounter}.tmp`);
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
    await this.syncDirectory();
  }

  private async syncDirectory(): Promise<void> {
    const dir = await open(this.directory, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  /** The file of a key: readable when short enough, hashed otherwise (see the class comment). */
  private fileOf(key: string): { path: string; hashed: boolean } {
    const encoded = encodeKey(key);
    if (encoded.length + '.json'.length <= MAX_READABLE_NAME) return { path: join(this.directory, `${encoded}.json`), hashed: false };
    const hash = createHash('sha256').update(key, 'utf8').digest('hex');
    return { path: join(this.directory, `${encoded.slice(0, HASHED_NAME_VISIBLE)}~${hash}.json`), hashed: true };
  }
}

/** Percent-encoding of every character outside [A-Za-z0-9_-]; it maps prefixes to prefixes. */
function encodeKey(key: string): string {
  return encodeURIComponent(key).replace(/[.!~*'()]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function parseValue(text: string, key: string, path: string): StoredValue {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw corrupt(key, path, `it is not JSON (${(err as Error).message})`, err);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw corrupt(key, path, 'it is not a stored value');
  return value as StoredValue;
}

/** A hashed file's key and value; `key`, when known (get), is the key named by an error. */
function parseHashed(text: string, path: string, key?: string): HashedFile {
  let file: Partial<HashedFile> | null;
  try {
    file = JSON.parse(text) as Partial<HashedFile> | null;
  } catch (err) {
    throw corrupt(key, path, `it is not JSON (${(err as Error).message})`, err);
  }
  if (!file || typeof file.key !== 'string' || !file.value || typeof file.value !== 'object' || Array.isArray(file.value)) {
    throw corrupt(key ?? (typeof file?.key === 'string' ? file.key : undefined), path, 'it is not a stored value');
  }
  return file as HashedFile;
}

function corrupt(key: string | undefined, path: string, why: string, cause?: unknown): CorruptValueError {
  const remedy = key === undefined
    ? 'Its key cannot be read: remove the file (its entry is lost) or restore it from a backup.'
    : 'To start this entry over, delete it with store.delete(error.key): a dataset is then pulled again from the ' +
      'server at its next sync, and only its changes that were never synced are lost.';
  const message = `FileStore: the file ${path}${key === undefined ? '' : ` (key ${JSON.stringify(key)})`} is unreadable: ${why}. ${remedy}`;
  return new CorruptValueError(key, path, message, cause === undefined ? undefined : { cause });
}
