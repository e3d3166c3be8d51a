import type { ThrottleConfig } from '../config.js';
import type { Clock } from './operation.js';
import { errors } from './errors.js';

interface Bucket {
  tokens: number;
  updatedAt: number;
}

const MAX_TRACKED = 100_000;

/**
 * Token buckets per identity and per identity pool (TooManyRequestsException, 429). Buckets live in this
 * process: with several instances behind a balancer each enforces its own share, which operators size with
 * the rates. A rate of 0 switches the bucket kind off.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly config: ThrottleConfig, private readonly clock: Clock) {}

  /** Takes one token from each applicable bucket or throws TooManyRequestsException taking none. */
  take(identityPoolId: string | undefined, identityId: string | undefined): void {
    const now = this.clock.now();
    const { identityRatePerSecond, identityBurst, poolRatePerSecond, poolBurst } = this.config;
    const identity = identityId && identityRatePerSecond > 0
      ? this.refill(`i:${identityId}`, identityRatePerSecond, identityBurst, now) : undefined;
    const pool = identityPoolId && poolRatePerSecond > 0
      ? this.refill(`p:${identityPoolId}`, poolRatePerSecond, poolBurst, now) : undefined;
    if ((identity && identity.tokens < 1) || (pool && pool.tokens < 1)) {
      const rate = identity && identity.tokens < 1 ? identityRatePerSecond : poolRatePerSecond;
      throw errors.tooManyRequests('Rate exceeded', { 'Retry-After': String(Math.max(1, Math.ceil(1 / rate))) });
    }
    if (identity) identity.tokens -= 1;
    if (pool) pool.tokens -= 1;
  }

  private refill(key: string, rate: number, burst: number, now: number): Bucket {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= MAX_TRACKED) this.evictFull(now);
      bucket = { tokens: burst, updatedAt: now };
      this.buckets.set(key, bucket);
    }
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.updatedAt) / 1000) * rate);
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
