import type { Config } from '../config.js';
import type { Principal } from '../auth/principal.js';
import type { SyncStore } from '../storage/store.js';
import type { HookRunner } from '../hooks/hook-runner.js';
import type { BulkPublishRuns } from '../hooks/bulk-publish-runs.js';
import type { SyncOperationName } from './model/cognito-sync-model.js';
import type { IdentityOperationName } from './model/cognito-identity-model.js';
import type { Logger } from '../logger.js';
import type { ServerKeys } from '../auth/server-keys.js';
import type { LoginVerifier } from '../auth/login-providers.js';
import type { SyncTriggers } from '../triggers/sync-triggers.js';

/** Time and identifiers come from here, so tests can inject a clock and predictable IDs. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

export interface IdSource {
  uuid(): string;
  /** URL-safe random text with `bytes` bytes of entropy. */
  random(bytes: number): string;
}

/** Everything an operation may use; built once per server. */
export interface Services {
  readonly config: Config;
  readonly store: SyncStore;
  readonly clock: Clock;
  readonly ids: IdSource;
  readonly hooks: HookRunner;
  /** The pools' Sync Triggers (SetCognitoEvents), run by UpdateRecords for identity credentials. */
  readonly triggers: SyncTriggers;
  /** The bulk publishes this server runs in the background (BulkPublish). */
  readonly bulkPublishRuns: BulkPublishRuns;
  readonly logger: Logger;
  /** The account that owns every pool on this server (shown as LastModifiedBy for developer writes). */
  readonly accountId: string;
  /** HMAC key for SyncSessionTokens, shared by every instance through the database. */
  readonly sessionKey: Buffer;
  /** Keys from which identity credentials and OpenID tokens are derived (src/auth/server-keys.ts). */
  readonly keys: ServerKeys;
  readonly loginVerifier: LoginVerifier;
  /** Where this server is reached; `issuer` is known once it listens (or from --public-url). */
  readonly urls: { issuer: string };
}

export interface RequestContext {
  readonly requestId: string;
  readonly principal: Principal;
  readonly services: Services;
  /** True once the client's connection has closed; absent outside the HTTP edge. */
  readonly clientGone?: (() => boolean) | undefined;
}

/**
 * Which caller class may call an operation (SPEC §3): identity credentials only, developer credentials only,
 * either, or nobody in particular (the unsigned public Cognito Identity operations).
 */
export type AuthClass = 'identity' | 'developer' | 'either' | 'public';

/** A plain operation object, independent of the HTTP framework. Inputs arrive validated against the model. */
export interface Operation<N extends string = string, I = unknown, O extends object = object> {
  readonly name: N;
  readonly auth: AuthClass;
  handler(input: I, ctx: RequestContext): Promise<O>;
}

export function defineSyncOperation<N extends SyncOperationName, I, O extends object>(op: Operation<N, I, O>): Operation<N, I, O> {
  return op;
}

export function defineIdentityOperation<N extends IdentityOperationName, I, O extends object>(
  op: Operation<N, I, O>,
): Operation<N, I, O> {
  return op;
}

/** Epoch milliseconds → the epoch-seconds JSON number every AWS client parses (WIRE §1.5). */
export function toEpochSeconds(ms: number): number {
  return ms / 1000;
}

/** Epoch seconds from a request (integer or fractional) → epoch milliseconds, rounded to whole ms. */
export function fromEpochSeconds(seconds: number): number {
  return Math.round(seconds * 1000);
}
