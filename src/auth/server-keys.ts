/**
 * Server keys: the secrets from which Cosync derives everything it issues to identities (temporary credentials and
 * their secrets, OpenID token signing keys). Nothing issued is stored, so any instance holding the same keys
 * accepts what any other issued, and a restart changes nothing.
 *
 * Source: `COSYNC_SERVER_KEYS` (`id:base64secret[,id:base64secret…]`, the first one issues, all of them verify),
 * else `<data>/server-keys.json`, generated once. Rotation: put a new key first, keep the old ones listed until
 * everything they issued has expired (SECURITY.md), then drop them.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createPrivateFile, makePrivateFolder, readPrivateJson, type FileLog } from './private-file.js';

export interface ServerKey {
  readonly id: string;
  readonly secret: Buffer;
}

export interface ServerKeys {
  /** The key that issues. */
  readonly active: ServerKey;
  /** Every key that verifies, the active one included. */
  readonly byId: ReadonlyMap<string, ServerKey>;
}

export const SERVER_KEYS_FILE_NAME = 'server-keys.json';
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
const MIN_SECRET_BYTES = 32;

export function serverKeys(keys: readonly ServerKey[]): ServerKeys {
  const [active] = keys;
  if (!active) throw new Error('at least one server key is needed');
  const byId = new Map<string, ServerKey>();
  for (const key of keys) {
    if (!KEY_ID.test(key.id)) throw new Error(`server key id '${key.id}' must be 1-32 of A-Z a-z 0-9 _ -`);
    if (key.secret.length < MIN_SECRET_BYTES) throw new Error(`server key '${key.id}' must have at least ${MIN_SECRET_BYTES} bytes`);
    if (byId.has(key.id)) throw new Error(`server key id '${key.id}' is listed twice`);
    byId.set(key.id, key);
  }
  return { active, byId };
}

/** Parses `id:base64secret,id:base64secret`. */
export function parseServerKeys(text: string): ServerKeys {
  return serverKeys(text.split(',').map((entry) => {
    const colon = entry.indexOf(':');
    if (colon <= 0) throw new Error('COSYNC_SERVER_KEYS must look like id:base64secret[,id:base64secret…]');
    return { id: entry.slice(0, colon).trim(), secret: Buffer.from(entry.slice(colon + 1).trim(), 'base64') };
  }));
}

export async function loadServerKeys(opts: {
  dataDir: string;
  env: Readonly<Record<string, string | undefined>>;
  log?: FileLog;
}): Promise<ServerKeys> {
  const fromEnv = opts.env['COSYNC_SERVER_KEYS'];
  if (fromEnv) return parseServerKeys(fromEnv);
  await makePrivateFolder(opts.dataDir);
  const file = join(opts.dataDir, SERVER_KEYS_FILE_NAME);
  const fix = 'fix it, or restore it from a backup (deleting it invalidates every credential issued)';
  const stored = await readPrivateJson(file, fix, opts.log);
  if (stored !== undefined) {
    const keys = (stored as { keys?: unknown } | null)?.keys;
    if (!Array.isArray(keys)) throw new Error(`${file} must hold {"keys": [{"id", "secret"}]}; ${fix}`);
    try {
      return serverKeys(keys.map((k: { id?: unknown; secret?: unknown } | null) => {
        if (typeof k?.id !== 'string' || typeof k.secret !== 'string') throw new Error('every key needs string "id" and "secret"');
        return { id: k.id, secret: Buffer.from(k.secret, 'base64') };
      }));
    } catch (err) {
      throw new Error(`${file}: ${err instanceof Error ? err.message : String(err)}; ${fix}`, { cause: err });
    }
  }
  const key = { id: `k${Date.now().toString(36)}`, secret: randomBytes(32) };
  const text = `${JSON.stringify({ keys: [{ id: key.id, secret: key.secret.toString('base64') }] }, null, 2)}\n`;
  // Another instance starting on this folder at the same moment may have created the file first: theirs is used.
  if (!(await createPrivateFile(file, text))) return loadServerKeys(opts);
  opts.log?.info(`generated server key ${key.id}; stored in ${file}`);
  return serverKeys([key]);
}
