import {
  CognitoIdentityClient, GetCredentialsForIdentityCommand, GetIdCommand,
} from '@aws-sdk/client-cognito-identity';
import type { LocalStore } from './store/store.js';
import { LocalCopy } from './local-copy.js';
import { checkResolution, type ConflictResolver } from './resolvers.js';
import type { IdentityState } from './types.js';

/** Login tokens by provider name, as the SDK's credential provider takes them (a string or a function returning one). */
export type Logins = Record<string, string | (() => Promise<string>)>;

export async function resolveLogins(logins: Logins): Promise<Record<string, string>> {
  const entries = await Promise.all(Object.entries(logins).map(async ([k, v]) => [k, typeof v === 'function' ? await v() : v] as const));
  return Object.fromEntries(entries);
}

/**
 * Who a set of logins names, as a stable string: per provider (sorted by name), the subject claim of its token read
 * as a JWT (OpenID Connect, Cognito user pools, Cognito Identity's own tokens of the developer-authenticated flow,
 * whose subject is the identity ID), which stays the same when the token is refreshed; the provider name already
 * says whose subject it is (an issuer may write its `iss` in more than one form). A token that is no JWT with a
 * subject (an opaque access token, as Facebook's or Login with Amazon's) stands for itself, by its SHA-256: the same
 * cached token names the same user. The token is decoded, not verified: this only tells whether two sets of logins
 * are the same user's, to pick local data, and grants nothing on the server. A token function that fails names
 * nobody: the answer is then undefined, which matches no stored identity.
 */
export async function loginsFingerprint(logins: Logins): Promise<string | undefined> {
  let resolved: Record<string, string>;
  try {
    resolved = await resolveLogins(logins);
  } catch {
    return undefined;
  }
  const names = Object.keys(resolved).sort();
  const parts: string[][] = [];
  for (const provider of names) {
    const token = resolved[provider] ?? '';
    const sub = jwtSubject(token);
    parts.push(sub !== undefined ? [provider, 'sub', sub] : [provider, 'sha256', await sha256Hex(token)]);
  }
  return names.length > 0 ? JSON.stringify(parts) : undefined;
}

/** The `sub` claim of a JWT's payload, unverified; undefined for anything else. */
function jwtSubject(token: string): string | undefined {
  const payload = token.split('.')[1];
  if (token.split('.').length !== 3 || !payload || !/^[A-Za-z0-9_-]+$/.test(payload)) return undefined;
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(payload.length / 4) * 4, '=');
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes)) as { sub?: unknown };
    return typeof claims.sub === 'string' && claims.sub !== '' ? claims.sub : undefined;
  } catch {
    return undefined;
  }
}

/** SHA-256 of `text` (UTF-8) as hex, with the Web Crypto API every supported runtime has (Node 20+, browsers). */
async function sha256Hex(text: string): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Store keys: one identity entry per pool, one snapshot per dataset of each identity. */
export const keys = {
  identity: (poolId: string) => `cosync/${poolId}/identity`,
  datasetsOf: (poolId: string, identityId: string) => `cosync/${poolId}/${identityId}/`,
  dataset: (poolId: string, identityId: string, name: string) => `cosync/${poolId}/${identityId}/${name}`,
};

/** GetId: a new guest identity without logins, or the identity owning the logins. */
export async function getIdentityId(client: CognitoIdentityClient, poolId: string, logins?: Logins): Promise<string> {
  const out = await client.send(new GetIdCommand({ IdentityPoolId: poolId, ...(logins ? { Logins: await resolveLogins(logins) } : {}) }));
  if (!out.IdentityId) throw new Error('GetId answered no IdentityId');
  return out.IdentityId;
}

/**
 * Presents logins for a guest identity: GetCredentialsForIdentity with the guest's ID. If another identity owns
 * the login, the server merges the guest into it (its datasets become `<name>.<guestId>` there) and answers the
 * survivor's ID; otherwise the guest becomes authenticated in place.
 */
export async function loginGuest(client: CognitoIdentityClient, guestId: string, logins: Logins): Promise<string> {
  const out = await client.send(new GetCredentialsForIdentityCommand({ IdentityId: guestId, Logins: await resolveLogins(logins) }));
  return out.IdentityId ?? guestId;
}

export async function loadIdentity(store: LocalStore, poolId: string): Promise<IdentityState | undefined> {
  const found = await store.get(keys.identity(poolId));
  return found && 'identityId' in found ? found : undefined;
}

/**
 * After a guest was merged into `target`: moves the guest's unsynced local changes into the same datasets of
 * `target` (a key changed on both sides goes to the resolver, the guest's change as "remote") and drops the
 * guest's local copies. What the guest had synced reaches `target` through the server's merged datasets.
 */
export async function moveGuestChanges(
  store: LocalStore, poolId: string, guestId: string, targetId: string, resolver: ConflictResolver, now: () => number,
): Promise<void> {
  const prefix = keys.datasetsOf(poolId, guestId);
  for (const key of await store.keys(prefix)) {
    const name = key.slice(prefix.length);
    const guest = await LocalCopy.load(store, key);
    const target = await LocalCopy.load(store, keys.dataset(poolId, targetId, name));
    for (const change of guest.dirty()) {
      const mine = target.record(change.key);
      if (mine && mine.value === change.value && mine.modifiedAt >= change.modifiedAt) continue;
      if (mine && mine.value !== change.value) {
        const r = checkResolution(await resolver({
          datasetName: name, key: change.key, local: { value: mine.value, modifiedAt: mine.modifiedAt },
          remote: { value: change.value, modifiedAt: change.modifiedAt, syncCount: 0 },
        }));
        if (r.use === 'local') continue;
        if (r.use === 'value') { target.edit(change.key, r.value, now()); continue; }
      }
      target.edit(change.key, change.value, change.modifiedAt);
    }
    if (guest.dirty().length > 0) await target.persist();
    await store.delete(key);
  }
}
