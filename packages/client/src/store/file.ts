import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { StoredValue } from '../types.js';
import type { LocalStore } from './store.js';

/**
 * A durable store for Node.js: one JSON file per key in a directory. A value is written to a temporary file,
 * fsynced, renamed over the old file and the directory is fsynced, so a crash leaves the old or the new value.
 * Writes to one key are applied in call order. No native dependency.
 */
export class FileStore implements LocalStore {
  private readonly ready: Promise<void>;
  private readonly queues = new Map<string, Promise<void>>();
  private tempCounter = 0;

  constructor(private readonly directory: string) {
    this.ready = mkdir(directory, { recursive: true }).then(() => undefined);
  }

  async get(key: string): Promise<StoredValue | undefined> {
    await this.ready;
    await this.queues.get(key);
    try {
      return JSON.parse(await readFile(this.pathOf(key), 'utf8')) as StoredValue;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  set(key: string, value: StoredValue): Promise<void> {
    return this.enqueue(key, () => this.writeAtomically(key, JSON.stringify(value)));
  }

  delete(key: string): Promise<void> {
    return this.enqueue(key, async () => {
      await rm(this.pathOf(key), { force: true });
      await this.syncDirectory();
    });
  }

  async keys(prefix: string): Promise<string[]> {
    await this.ready;
    const names = await readdir(this.directory);
    return names
      .filter((n) => n.endsWith('.json'))
      .map((n) => decodeURIComponent(n.slice(0, -'.json'.length)))
      .filter((k) => k.startsWith(prefix))
      .sort();
  }

  async close(): Promise<void> {
    await Promise.all(this.queues.values());
  }

  private enqueue(key: string, work: () => Promise<void>): Promise<void> {
    const previous = this.queues.get(key) ?? this.ready;
    const next = previous.catch(() => undefined).then(work);
    const settled = next.catch(() => undefined);
    this.queues.set(key, settled);
    void settled.then(() => { if (this.queues.get(key) === settled) this.queues.delete(key); });
    return next;
  }

  private async writeAtomically(key: string, text: string): Promise<void> {
    const target = this.pathOf(key);
    const temp = `${target}.${process.pid}.${++this.tempCounter}.tmp`;
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

  /** Keys become file names with every character outside [A-Za-z0-9_-] percent-encoded (`.` too, so no `..`). */
  private pathOf(key: string): string {
    const name = encodeURIComponent(key).replace(/[.!~*'()]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
    return join(this.directory, `${name}.json`);
  }
}
