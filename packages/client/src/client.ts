import { CognitoIdentityClient, type CognitoIdentityClientConfig } from '@aws-sdk/client-cognito-identity';
import { CognitoSyncClient } from '@aws-sdk/client-cognito-sync';
import { fromCognitoIdentity } from '@aws-sdk/credential-provider-cognito-identity';
import { Dataset } from './dataset.js';
import { deleteOnServer } from './deletion.js';
import { Emitter, reportListenerError, type ListenerErrorHandler } from './emitter.js';
import { ClosedError, InvalidArgumentError } from './errors.js';
import {
  getIdentityId, keys, loadIdentity, loginGuest, loginsFingerprint, moveGuestChanges, resolveLogins, type Logins,
} from './identity.js';
import { LocalCopy } from './local-copy.js';
import { Remote } from './remote.js';
import { lastWriterWins, type ConflictResolver } from './resolvers.js';
import { classify, DEFAULT_RETRY, type RetryOptions } from './retry.js';
import { claimStore, releaseStore, usedByAnother } from './store/claim.js';
import { MemoryStore } from './store/memory.js';
import type { LocalStore } from './store/store.js';
import { checkPolicy, type RemoteDeletionPolicy, type SyncPolicies } from './sync.js';
import type { IdentityState } from './types.js';
import { boundRequests, DEFAULT_REQUEST_TIMEOUT_MS } from './timeout.js';
import { checkDatasetName } from './validate.js';

export interface CosyncClientOptions {
  /** The Cognito identity pool, e.g. `us-east-1:…`. */
  readonly identityPoolId: string;
  readonly region: string;
  /** Cosync's URL; leave out for AWS. Used for both Cognito Sync and Cognito Identity. */
  readonly endpoint?: string;
  /** Where local copies live (default: in memory). IndexedDbStore in browsers, FileStore in Node.js. */
  readonly store?: LocalStore;
  /** Start signed in with these logins; without them the device uses a guest identity. */
  readonly logins?: Logins;
  /** Conflict resolution (default: lastWriterWins). */
  readonly resolver?: ConflictResolver;
  /** What to do when another device deleted a dataset (default 'keep-unsynced'). */
  readonly onRemoteDeleted?: SyncPolicies['onRemoteDeleted'];
  /** Fold merged datasets (`<name>.<oldIdentityId>`) into `<name>` on sync, then delete them (default true). */
  readonly foldMergedDatasets?: boolean;
  readonly retry?: Partial<RetryOptions>;
  /**
   * How long one request may wait for its answer before it is abandoned and counted as a network failure, which
   * synchronize() retries (default 20,000 ms). Credential requests are bounded the same way.
   */
  readonly requestTimeoutMs?: number;
  /** Extra settings for both SDK clients (e.g. a requestHandler). */
  readonly clientConfig?: Omit<CognitoIdentityClientConfig, 'region' | 'endpoint' | 'credentials'>;
  /** The clock used to stamp local edits (default Date.now). */
  readonly now?: () => number;
  /** Receives what an event listener throws (default: console.error); listeners never throw into the library. */
  readonly onListenerError?: ListenerErrorHandler;
}

export interface IdentityChange {
  readonly previousId: string;
  readonly identityId: string;
  /** The previous (guest) identity was merged into this one on the server. */
  readonly merged: boolean;
}

export interface ClientEvents {
  identityChanged: IdentityChange;
}

/**
 * The entry point: one identity at a time (a guest, or signed in with logins), its datasets kept locally per
 * identity ID, credentials from the SDK's Cognito Identity provider (refreshed by the SDK when they expire).
 */
export class CosyncClient {
  private readonly store: LocalStore;
  private readonly identityClient: CognitoIdentityClient;
  private readonly policies: SyncPolicies;
  private readonly events: Emitter<ClientEvents>;
  private readonly open = new Map<string, Promise<Dataset>>();
  /** Resolved on first use; a failed start (e.g. offline on first launch) is retried by the next call. */
  private state: Promise<{ identity: IdentityState; logins: Logins | undefined; sync: CognitoSyncClient }> | undefined;
  /** The last identity in use (what datasets of that identity sync with while a switch is in progress). */
  private active: { identity: IdentityState; sync: CognitoSyncClient } | undefined;
  private closed = false;

  /** Throws InvalidArgumentError for an onRemoteDeleted option that is neither a policy nor a function. */
  constructor(private readonly options: CosyncClientOptions) {
    checkOptions(options);
    this.store = options.store ?? new MemoryStore();
    this.events = new Emitter(options.onListenerError);
    this.identityClient = boundRequests(new CognitoIdentityClient(this.sdkConfig()), this.requestTimeoutMs());
    this.policies = {
      resolver: options.resolver ?? lastWriterWins,
      onRemoteDeleted: options.onRemoteDeleted ?? ('keep-unsynced' satisfies RemoteDeletionPolicy),
      foldMergedDatasets: options.foldMergedDatasets ?? true,
      retry: { ...DEFAULT_RETRY, ...options.retry },
      now: options.now ?? Date.now,
      random: Math.random,
      onListenerError: options.onListenerError ?? reportListenerError,
    };
  }

  /** The identity ID in use (resolved with GetId on first use, then kept in the store). */
  async identityId(): Promise<string> {
    return (await this.current()).identity.identityId;
  }

  /** Opens a dataset of the current identity, loading its local copy; the same handle for the same name. */
  async openDataset(name: string): Promise<Dataset> {
    checkDatasetName(name);
    const { identity } = await this.current();
    const key = keys.dataset(this.options.identityPoolId, identity.identityId, name);
    let dataset = this.open.get(key);
    if (!dataset) {
      dataset = LocalCopy.load(this.store, key).then((copy) =>
        new Dataset(name, identity.identityId, copy, () => this.remoteFor(identity.identityId), this.policies));
      this.open.set(key, dataset);
      dataset.catch(() => this.open.delete(key));
    }
    return dataset;
  }

  /**
   * Names of the datasets of the current identity that have a local copy with something in it (records, synced or
   * not, or a deletion still to send); a dataset whose deletion reached the server, with nothing written since, has
   * none.
   */
  async localDatasets(): Promise<string[]> {
    const prefix = keys.datasetsOf(this.options.identityPoolId, await this.identityId());
    return (await this.store.keys(prefix)).map((k) => k.slice(prefix.length));
  }

  /**
   * Signs in. From a guest, the guest's identity is presented with the logins, so the server merges it into the
   * account's identity when the login has one; local unsynced changes move along. From a signed-in identity this
   * switches accounts: each identity keeps its own local data. Open Dataset handles of the old identity close.
   */
  async login(logins: Logins): Promise<IdentityChange> {
    return this.switchIdentity(async (previous) => {
      const resolved = await resolveLogins(logins);
      if (previous.authenticated) {
        return { id: await getIdentityId(this.identityClient, this.options.identityPoolId, resolved), merged: false, resolved };
      }
      await this.carryOutGuestDeletions(previous.identityId, () => this.remoteFor(previous.identityId));
      const id = await loginGuest(this.identityClient, previous.identityId, resolved);
      return { id, merged: id !== previous.identityId, resolved };
    }, logins);
  }

  /** Signs out to a new guest identity (the signed-in identity's local data stays in the store for its return). */
  async logout(): Promise<IdentityChange> {
    return this.switchIdentity(async () => ({ id: await getIdentityId(this.identityClient, this.options.identityPoolId), merged: false }), undefined);
  }

  on<K extends keyof ClientEvents>(event: K, listener: (arg: ClientEvents[K]) => void): () => void {
    return this.events.on(event, listener);
  }

  /**
   * Stores pending writes, waits for running syncs (each records the answer to its request in flight, then stops
   * with SyncError 'closed' unless it was done) and closes the store.
   */
  async close(): Promise<void> {
    this.closed = true;
    await this.closeDatasets();
    // A client that was refused the store (StoreInUseError) leaves it open for the client using it.
    if (usedByAnother(this.store, this)) return;
    try {
      await this.store.close();
    } finally {
      releaseStore(this.store, this);
    }
  }

  private async current() {
    if (this.closed) throw new ClosedError('the client is closed');
    if (!this.state) {
      const started = this.start().then((s) => (this.active = s));
      this.state = started;
      started.catch(() => { if (this.state === started) this.state = undefined; });
    }
    return this.state;
  }

  private async start() {
    // One client per store (StoreInUseError otherwise); a FileStore or IndexedDbStore also locks on first use.
    claimStore(this.store, this);
    const poolId = this.options.identityPoolId;
    const stored = await loadIdentity(this.store, poolId);
    const logins = this.options.logins;
    let identity: IdentityState;
    if (logins && stored && !stored.authenticated) {
      const guestRemote = new Remote(this.syncClientFor(stored.identityId, undefined), poolId, stored.identityId);
      await this.carryOutGuestDeletions(stored.identityId, async () => guestRemote);
      const resolved = await resolveLogins(logins);
      const id = await loginGuest(this.identityClient, stored.identityId, resolved);
      if (id !== stored.identityId) await moveGuestChanges(this.store, poolId, stored.identityId, id, this.policies.resolver, this.policies.now);
      identity = await signedIn(id, resolved);
    } else if (logins) {
      identity = await this.signedInIdentity(logins, stored);
    } else {
      identity = stored && !stored.authenticated ? stored : { format: 1, identityId: await getIdentityId(this.identityClient, poolId), authenticated: false };
    }
    await this.store.set(keys.identity(poolId), identity);
    return { identity, logins, sync: this.syncClientFor(identity.identityId, logins) };
  }

  /**
   * GetId for the logins; offline, the stored signed-in identity (so a signed-in app starts without network), but
   * only when it was obtained for logins naming the same user (loginsFingerprint): another user signing in on this
   * device offline must not get the previous user's identity, local data and later pushes into that account.
   */
  private async signedInIdentity(logins: Logins, stored: IdentityState | undefined): Promise<IdentityState> {
    let resolved: Record<string, string> | undefined;
    try {
      resolved = await resolveLogins(logins);
      return await signedIn(await getIdentityId(this.identityClient, this.options.identityPoolId, resolved), resolved);
    } catch (err) {
      if (!stored?.authenticated || classify(err) !== 'transient') throw err;
      // Logins whose tokens could not be had name nobody.
      const fingerprint = resolved && (await loginsFingerprint(resolved));
      if (fingerprint !== undefined && fingerprint === stored.loginsFingerprint) return stored;
      throw new Error('cannot start offline with these logins: the identity stored on this device was not obtained ' +
        `for them (or they name no user), and GetId needs the network: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  private async switchIdentity(
    decide: (previous: IdentityState) => Promise<{ id: string; merged: boolean; resolved?: Record<string, string> }>,
    logins: Logins | undefined,
  ): Promise<IdentityChange> {
    const current = await this.current();
    const previous = current.identity;
    const next = (async () => {
      const { id, merged, resolved } = await decide(previous);
      await this.closeDatasets();
      if (merged) await moveGuestChanges(this.store, this.options.identityPoolId, previous.identityId, id, this.policies.resolver, this.policies.now);
      const identity: IdentityState = resolved ? await signedIn(id, resolved) : { format: 1, identityId: id, authenticated: false };
      await this.store.set(keys.identity(this.options.identityPoolId), identity);
      return { identity, logins, sync: this.syncClientFor(id, logins), merged };
    })();
    // A failed switch (offline, refused login) leaves the previous identity in use.
    this.state = next.catch(() => current);
    const { merged } = await next;
    this.active = await next;
    const change = { previousId: previous.identityId, identityId: await this.identityId(), merged };
    this.events.emit('identityChanged', change);
    return change;
  }

  /**
   * A guest's datasets deleted locally but not yet on the server are deleted now: a merge would otherwise carry
   * their old server copies into the account.
   */
  private async carryOutGuestDeletions(guestId: string, remote: () => Promise<Remote>): Promise<void> {
    const prefix = keys.datasetsOf(this.options.identityPoolId, guestId);
    for (const key of await this.store.keys(prefix)) {
      const open = this.open.get(key);
      if (open) {
        await (await open).carryOutDeletion();
        continue;
      }
      const copy = await LocalCopy.load(this.store, key);
      if (!copy.pendingDelete) continue;
      await deleteOnServer(copy, await remote(), key.slice(prefix.length));
    }
  }

  private async closeDatasets(): Promise<void> {
    const datasets = await Promise.allSettled(this.open.values());
    this.open.clear();
    await Promise.all(datasets.map((d) => (d.status === 'fulfilled' ? d.value.close() : undefined)));
  }

  private async remoteFor(identityId: string): Promise<Remote> {
    const { sync, identity } = this.active?.identity.identityId === identityId ? this.active : await this.current();
    if (identity.identityId !== identityId) throw new ClosedError(`identity ${identityId} is no longer in use`);
    return new Remote(sync, this.options.identityPoolId, identityId);
  }

  /** Retries are this library's (bounded, with jitter), so the SDK makes one attempt per request. */
  private sdkConfig() {
    const { endpoint, region, clientConfig } = this.options;
    return { maxAttempts: 1, ...clientConfig, region, ...(endpoint ? { endpoint } : {}) };
  }

  private syncClientFor(identityId: string, logins: Logins | undefined): CognitoSyncClient {
    // The client's own identity client, so that credential requests are bounded like the rest even when the app
    // brings its own requestHandler. The provider declares its client type from the SDK's internal copy of this
    // client (@aws-sdk/nested-clients); the two are the same service client, which is what it calls send() on.
    const client = this.identityClient as unknown as NonNullable<Parameters<typeof fromCognitoIdentity>[0]['client']>;
    const credentials = fromCognitoIdentity({ client, identityId, ...(logins ? { logins } : {}) });
    return boundRequests(new CognitoSyncClient({ ...this.sdkConfig(), credentials }), this.requestTimeoutMs());
  }

  private requestTimeoutMs(): number {
    return this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  }
}

/**
 * The identity state of `identityId` obtained for `logins`, with who they name (for a later start offline). The
 * logins are those already resolved for the request, so that no token function runs twice for one sign-in.
 */
async function signedIn(identityId: string, logins: Record<string, string>): Promise<IdentityState> {
  const fingerprint = await loginsFingerprint(logins);
  return { format: 1, identityId, authenticated: true, ...(fingerprint !== undefined ? { loginsFingerprint: fingerprint } : {}) };
}

function checkOptions(options: CosyncClientOptions): void {
  const p = options.onRemoteDeleted;
  if (p === undefined || typeof p === 'function') return;
  try {
    checkPolicy(p);
  } catch (err) {
    throw new InvalidArgumentError(`the onRemoteDeleted option is ${(err as Error).message}, or a function answering one`);
  }
}
