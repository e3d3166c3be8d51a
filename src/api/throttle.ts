import type { ThrottleConfig } from '../config.js';
import type { SyncStore, TokenBucket } from '../storage/store.js';
import type { Clock } from './operation.js';
import { errors } from './errors.js';

interface Bucket {
  tokens: number;
  updatedAt: number;
}

const MAX_TRACKED = 100_000;

/**
 * Who is calling: a signed request (developer or identity credentials), or an unsigned one (GetId,
 * GetCredentialsForIdentity and the other public operations), which anyone holding a pool's ID can send. Unsigned
 * calls draw from a bucket of their own per pool (the pool's rates) and never from an identity's: a flood of them
 * cannot starve the pool's signed traffic, nor an identity whose ID the sender knows.
 */
export type Caller = 'signed' | 'public';

/**
 * The bucket at the pool's rates a call draws from. A signed call naming neither pool nor identity (ListIdentityPools,
 * CreateIdentityPool, DeleteIdentities, tagging: developer credentials) draws from one bucket for the whole server,
 * as AWS's quotas for them are per account. An unsigned call naming no pool (GetCredentialsForIdentity,
 * GetOpenIdToken) draws from none: a shared bucket would let anyone, with made-up identity IDs, hold up every
 * device's credential refresh.
 */
function poolBucket(
  identityPoolId: string | undefined, identityId: string | undefined, caller: Caller,
): string | undefined {
  if (identityPoolId !== undefined) return caller === 'signed' ? `p:${identityPoolId}` : `a:${identityPoolId}`;
  return caller === 'signed' && identityId === undefined ? 'p:' : undefined;
}

/**
 * Token buckets per identity and per identity pool (TooManyRequestsException, 429). A rate of 0 switches the
 * bucket kind off.
 *
 * Where the buckets live: when the store shares them (`takeTokens`, PostgreSQL), in the database, so every instance
 * behind a balancer draws from the same buckets and the limits hold whichever instance answers; `take` then
 * returns a promise (one round trip). Otherwise (SQLite) in this process's memory, per worker under `--workers`
 * (docs/configuration.md), and `take` stays synchronous: callers await only a returned promise, so that path costs
 * no microtask.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly shared: Pick<Required<SyncStore>, 'takeTokens'> | undefined;

  constructor(private readonly config: ThrottleConfig, private readonly clock: Clock, store?: Pick<SyncStore, 'takeTokens'>) {
    this.shared = store?.takeTokens ? { takeTokens: store.takeTokens.bind(store) } : undefined;
  }

  /**
   * Takes one token from each applicable bucket or throws TooManyRequestsException taking none; with shared
   * buckets, returns a promise that settles the same way.
   */
  take(
    identityPoolId: string | undefined, identityId: string | undefined, caller: Caller = 'signed',
  ): void | Promise<void> {
    const wanted = this.bucketsFor(identityPoolId || undefined, identityId || undefined, caller);
    if (wanted.length === 0) return;
    if (this.shared) return this.takeShared(wanted);
    const now = this.clock.now();
    const held = wanted.map((b) => this.refill(b.name, b.ratePerSecond, b.burst, now));
    const empty = held.findIndex((b) => b.tokens < 1);
    if (empty !== -1) throw rateExceeded(wanted[empty]!.ratePerSecond);
    for (const b of held) b.tokens -= 1;
  }

  /** The buckets a call draws from, the identity's first: its own when signed, and its pool's (poolBucket). */
  private bucketsFor(
    identityPoolId: string | undefined, identityId: string | undefined, caller: Caller,
  ): TokenBucket[] {
    const { identityRatePerSecond, identityBurst, poolRatePerSecond, poolBurst } = this.config;
    const buckets: TokenBucket[] = [];
    if (identityId !== undefined && identityRatePerSecond > 0 && caller === 'signed') {
      buckets.push({ name: `i:${identityId}`, ratePerSecond: identityRatePerSecond, burst: identityBurst });
    }
    const poolKey = poolRatePerSecond > 0 ? poolBucket(identityPoolId, identityId, caller) : undefined;
    if (poolKey !== undefined) buckets.push({ name: poolKey, ratePerSecond: poolRatePerSecond, burst: poolBurst });
    return buckets;
  }

  private async takeShared(wanted: readonly TokenBucket[]): Promise<void> {
    const empty = await this.shared!.takeTokens(wanted);
    if (empty !== undefined) throw rateExceeded((wanted.find((b) => b.name === empty) ?? wanted[0]!).ratePerSecond);
  }

  private refill(key: string, rate: number, burst: number, now: number): Bucket {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= MAX_TRACKED) this.evictFull(now);
      bucket = { tokens: burst, updatedAt: now };
      this.buckets.set(key, bucket);
    }
    // A clock stepped back (NTP, a resumed VM) refills nothing rather than draining every bucket.
    bucket.tokens = Math.min(burst, bucket.tokens + (Math.max(0, now - bucket.updatedAt) / 1000) * rate);
    bucket.updatedAt = now;
    return bucket;
  }

  /** Drops buckets idle long enough to be full again: forgetting them changes nothing. */
  private evictFull(now: number): void {
    const { identityRatePerSecond, identityBurst, poolRatePerSecond, poolBurst } = this.config;
    for (const [key, b] of this.buckets) {
      const [rate, burst] = key.startsWith('i:') ? [identityRatePerSecond, identityBurst] : [poolRatePerSecond, poolBurst];
      if (b.tokens + ((now - b.updatedAt) / 1000) * rate >= burst) this.buckets.delete(key);
    }
  }
}

const rateExceeded = (rate: number) =>
  errors.tooManyRequests('Rate exceeded', { 'Retry-After': String(Math.max(1, Math.ceil(1 / rate))) });
