/**
 * Shared test setup: the real Cosync server (root test/helpers/server.ts) on port 0, an identity pool that allows
 * guests, and simulated devices: each a CosyncClient with its own store, its own clock source and a network
 * switch (offline makes every request fail as a network error), counting the HTTP requests it makes.
 */
import { NodeHttpHandler } from '@smithy/node-http-handler';
type HttpRequest = Parameters<NodeHttpHandler['handle']>[0];
import { CreateIdentityPoolCommand } from '@aws-sdk/client-cognito-identity';
import { clients, startServer, type TestServer } from '../../../test/helpers/server.js';
import { sharedServer } from '../../../test/helpers/shared-server.js';
import { oidcProviderArn, startLoginServer } from '../../../test/helpers/login-server.js';
import { expect } from 'vitest';
import { CosyncClient, MemoryStore, type CosyncClientOptions, type LocalStore, type StoredValue } from '../src/index.js';

export { startServer, sharedServer, clients, type TestServer };

/** A pool allowing guests (and logins from the given OpenID providers' ARNs). */
export async function createPool(t: TestServer, openIdProviderArns: string[] = []): Promise<string> {
  const { identity } = clients(t);
  const pool = await identity.send(new CreateIdentityPoolCommand({
    IdentityPoolName: `client_pool_${Math.random().toString(36).slice(2, 10)}`,
    AllowUnauthenticatedIdentities: true,
    ...(openIdProviderArns.length ? { OpenIdConnectProviderARNs: openIdProviderArns } : {}),
  }));
  return pool.IdentityPoolId ?? '';
}

/**
 * A server that accepts logins from a loopback OpenID issuer (`provider`, tokens for `audience`), and a pool that
 * allows guests and those logins. `login(sub)` mints the Logins map of a user.
 */
export async function startServerWithLogins(provider: string, audience: string) {
  const { idp, t, close } = await startLoginServer([provider], audience);
  const poolId = await createPool(t, [oidcProviderArn(provider)]);
  return {
    t,
    poolId,
    login: async (sub: string) => ({ [provider]: await idp.mint({ sub, aud: audience }) }),
    close,
  };
}

/** HTTP requests by operation, read off the method and path (what went over the wire, retries included). */
export interface WireCounts {
  ListRecords: number;
  UpdateRecords: number;
  DeleteDataset: number;
  identity: number;
  total: number;
}

/** Passes a request on to an HTTP server that accepts connections and never answers (a link that swallows it). */
export function swallowed(request: HttpRequest, blackholePort: number, options?: Parameters<NodeHttpHandler['handle']>[1]) {
  const inner = new NodeHttpHandler();
  const moved = Object.assign(Object.create(Object.getPrototypeOf(request) as object) as HttpRequest, request,
    { hostname: '127.0.0.1', port: blackholePort });
  return inner.handle(moved, options).finally(() => inner.destroy());
}

export class Network {
  online = true;
  /**
   * Runs in place of passing a request on, when set: to swallow it (send it somewhere that never answers) or to
   * lose its answer. `pass` sends the request on as usual.
   */
  intercept: ((request: HttpRequest, pass: () => ReturnType<NodeHttpHandler['handle']>,
    options?: Parameters<NodeHttpHandler['handle']>[1]) => ReturnType<NodeHttpHandler['handle']>) | undefined;
  readonly counts: WireCounts = { ListRecords: 0, UpdateRecords: 0, DeleteDataset: 0, identity: 0, total: 0 };
  private readonly inner = new NodeHttpHandler();

  /** The SDK's requestHandler: fails like an unreachable host while offline, else passes the request on. */
  readonly handler = {
    handle: async (request: HttpRequest, options?: Parameters<NodeHttpHandler['handle']>[1]) => {
      if (!this.online) throw Object.assign(new Error('getaddrinfo ENOTFOUND (simulated offline)'), { name: 'NetworkError', code: 'ENOTFOUND' });
      this.count(request);
      const pass = () => this.inner.handle(request, options);
      return this.intercept ? this.intercept(request, pass, options) : pass();
    },
    updateHttpClientConfig: () => undefined,
    httpHandlerConfigs: () => ({}),
    destroy: () => this.inner.destroy(),
  };

  reset(): void {
    for (const k of Object.keys(this.counts) as (keyof WireCounts)[]) this.counts[k] = 0;
  }

  private count(request: HttpRequest): void {
    this.counts.total += 1;
    if (request.path === '/') this.counts.identity += 1;
    else if (request.method === 'GET' && request.path.endsWith('/records')) this.counts.ListRecords += 1;
    else if (request.method === 'POST' && request.path.includes('/datasets/')) this.counts.UpdateRecords += 1;
    else if (request.method === 'DELETE') this.counts.DeleteDataset += 1;
  }
}

export interface Device {
  readonly client: CosyncClient;
  readonly network: Network;
  readonly store: LocalStore;
}

/** A simulated device: its own store (default in memory), network switch and fast retries. */
export function device(t: TestServer, identityPoolId: string, options: Partial<CosyncClientOptions> = {}): Device {
  const network = new Network();
  const store = options.store ?? new MemoryStore();
  const client = new CosyncClient({
    identityPoolId, region: t.region, endpoint: t.endpoint, store,
    retry: { attempts: 6, baseDelayMs: 2, maxDelayMs: 20 },
    clientConfig: { requestHandler: network.handler },
    ...options,
  });
  return { client, network, store };
}

/**
 * Two devices of one identity: the second is told the first's identity ID through its store (`bOptions.store`, else
 * a new memory store).
 */
export async function twoDevices(
  t: TestServer, identityPoolId: string, aOptions: Partial<CosyncClientOptions> = {}, bOptions: Partial<CosyncClientOptions> = {},
) {
  const a = device(t, identityPoolId, aOptions);
  const id = await a.client.identityId();
  const store = bOptions.store ?? new MemoryStore();
  await store.set(`cosync/${identityPoolId}/identity`, { format: 1, identityId: id, authenticated: false });
  const b = device(t, identityPoolId, { ...bOptions, store });
  expect(await b.client.identityId()).toBe(id);
  return { a, b, id };
}

/**
 * A memory store whose writes fail while `failing` (as a full disk or IndexedDB's quota would), and whose writes of
 * keys ending in `holdSuffix` wait, while `holding`, until failHeld() fails them.
 */
export class FaultyStore extends MemoryStore {
  failing = false;
  holding = false;
  holdSuffix = '';
  private readonly held: Array<(e: Error) => void> = [];
  override async set(key: string, value: StoredValue): Promise<void> {
    if (this.failing) throw quotaExceeded();
    if (this.holding && key.endsWith(this.holdSuffix)) return new Promise((_resolve, reject) => this.held.push(reject));
    return super.set(key, value);
  }
  failHeld(): void {
    this.holding = false;
    for (const reject of this.held.splice(0)) reject(quotaExceeded());
  }
}

const quotaExceeded = () => Object.assign(new Error('quota exceeded'), { name: 'QuotaExceededError' });
