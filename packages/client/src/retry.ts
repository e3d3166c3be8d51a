/** Bounded retries of one synchronize(): attempts, and exponential backoff with full jitter between them. */
export interface RetryOptions {
  /** Rounds tried before synchronize() fails (default 6). */
  readonly attempts: number;
  /** First backoff in ms (default 100); doubles each time, capped by maxDelayMs. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryOptions = { attempts: 6, baseDelayMs: 100, maxDelayMs: 5_000 };

export type FailureKind = 'conflict' | 'transient' | 'expired-session' | 'server-reset' | 'fatal';

interface AwsLikeError {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/**
 * 409 (a record changed on the server since it was listed), 429 (throttled), 5xx and network failures are worth
 * another round; an expired sync session token needs a fresh ListRecords; "No such SyncCount" means the server
 * went back in time (restored); anything else will not get better.
 */
export function classify(err: unknown): FailureKind {
  const e = (err ?? {}) as AwsLikeError;
  const status = e.$metadata?.httpStatusCode;
  if (e.name === 'ResourceConflictException' || status === 409) return 'conflict';
  if (e.name === 'InvalidParameterException' && /SyncSessionToken/i.test(e.message ?? '')) return 'expired-session';
  if (e.name === 'InvalidParameterException' && /No such SyncCount/i.test(e.message ?? '')) return 'server-reset';
  if (status === 429 || e.name === 'TooManyRequestsException' || e.name === 'LambdaThrottledException') return 'transient';
  if (status !== undefined && status >= 500) return 'transient';
  if (status === undefined && e.name !== 'InvalidArgumentError') return 'transient';
  return 'fatal';
}

/** Full jitter: a random delay in [0, min(max, base * 2^(attempt-1))]. */
export function backoffDelay(options: RetryOptions, attempt: number, random: () => number = Math.random): number {
  const cap = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * cap);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
