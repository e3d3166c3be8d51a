import type { StoredValue } from '../types.js';
import type { LocalStore } from './store.js';

/** A store in memory: for tests, and for apps that want a session-only copy. Values are copied in and out. */
export class MemoryStore implements LocalStore {
  private readonly values = new Map<string, StoredValue>();

  async get(key: string): Promise<StoredValue | undefined> {
    const value = this.values.get(key);
    return value === undefined ? undefined : structuredClone(value);
  }

  async set(key: string, value: StoredValue): Promise<void> {
    this.values.set(key, structuredClone(value));
  }

  async delete(key: string): Promise<void> {
    this.values.delete(key);
  }

  async keys(prefix: string): Promise<string[]> {
    return [...this.values.keys()].filter((k) => k.startsWith(prefix)).sort();
  }

  async close(): Promise<void> {}
}
