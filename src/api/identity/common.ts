import { errors, identityNotFound, poolNotFound } from '../errors.js';
import { toEpochSeconds, type RequestContext } from '../operation.js';
import { decodePageToken, encodePageToken, isNamePosition } from '../../domain/page-token.js';
import type { Identity, IdentityPool, Login } from '../../storage/types.js';

/**
 * Helpers shared by the Cognito Identity operations. Every "not found" here is ResourceNotFoundException with
 * AWS's wording; Cognito Identity, unlike parts of Cognito Sync, may always answer 404-class for a missing pool.
 */

/** A new pool or identity ID: `<region>:<uuid>`, lower-case (SPEC §14: pattern `[\w-]+:[0-9a-f-]+`, ≤ 55). */
export function newRegionalId(ctx: RequestContext): string {
  return `${ctx.services.config.region}:${ctx.services.ids.uuid()}`.toLowerCase();
}

export async function requirePool(ctx: RequestContext, identityPoolId: string): Promise<IdentityPool> {
  const pool = await ctx.services.store.getIdentityPool(identityPoolId);
  if (!pool) throw poolNotFound(identityPoolId);
  return pool;
}

/**
 * The store's atomic change of the pool (`change` sees the pool as stored, and may throw to refuse): the changed
 * pool, or, for a pool that is not there (or deleted meanwhile), the same 404 requirePool answers.
 */
export async function changePool(
  ctx: RequestContext, identityPoolId: string, change: (current: IdentityPool) => IdentityPool,
): Promise<IdentityPool> {
  const changed = await ctx.services.store.modifyIdentityPool(identityPoolId, change);
  if (!changed) throw poolNotFound(identityPoolId);
  return changed;
}


/** The pool, which must use `providerName` as its developer provider (else InvalidParameterException). */
export async function requireDeveloperPool(ctx: RequestContext, identityPoolId: string, providerName: string): Promise<IdentityPool> {
  const pool = await requirePool(ctx, identityPoolId);
  if (pool.developerProviderName !== providerName) {
    throw errors.invalidParameter(`Identity pool ${pool.identityPoolId} has no developer provider ${providerName}`);
  }
  return pool;
}

export async function requireIdentity(ctx: RequestContext, identityId: string): Promise<Identity> {
  const identity = await ctx.services.store.getIdentity(identityId);
  if (!identity) throw identityNotFound(identityId);
  return identity;
}

/** The wire `IdentityDescription`. */
export interface IdentityDescription {
  IdentityId: string;
  Logins?: string[];
  CreationDate: number;
  LastModifiedDate: number;
}

/** Identity row → wire, reading its logins; describeIdentity says what it holds. */
export async function identityDescription(ctx: RequestContext, identity: Identity): Promise<IdentityDescription> {
  return describeIdentity(identity, await ctx.services.store.listLogins(identity.identityId));
}

/**
 * Identity row and its logins (as the store lists them, by provider and subject) → wire; `Logins` lists the
 * provider names of its linked logins, each once, in that order (absent for guests).
 */
export function describeIdentity(identity: Identity, logins: readonly Login[]): IdentityDescription {
  const providers = [...new Set(logins.map((l) => l.providerName))];
  return {
    IdentityId: identity.identityId,
    ...(providers.length > 0 ? { Logins: providers } : {}),
    CreationDate: toEpochSeconds(identity.createdAt),
    LastModifiedDate: toEpochSeconds(identity.lastModifiedAt),
  };
}

/**
 * NextToken → the last ID of the previous page (keyset position; see domain/page-token.ts). `listing` names what
 * is listed (the operation and what it lists within), which the token must have been issued for.
 */
export function afterFromToken(
  ctx: RequestContext, listing: readonly unknown[], token: string | undefined,
): string | undefined {
  if (token === undefined) return undefined;
  return decodePageToken(ctx.services.sessionKey, listing, token, isNamePosition).after;
}

/** The NextToken that continues `listing` after `lastId`. */
export function tokenAfter(ctx: RequestContext, listing: readonly unknown[], lastId: string): string {
  return encodePageToken(ctx.services.sessionKey, listing, { after: lastId });
}
