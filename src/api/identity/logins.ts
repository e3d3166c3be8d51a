import { errors, poolNotFound } from '../errors.js';
import type { RequestContext } from '../operation.js';
import type { Identity, IdentityPool } from '../../storage/types.js';
import { isExpiredToken, verifyOwnOpenIdToken } from '../../auth/openid-tokens.js';
import { mergedDatasetName } from '../../domain/merged-dataset-name.js';
import { newRegionalId, requireIdentity, requirePool } from './common.js';

/** The Logins key under which clients present Cognito Identity's own OpenID tokens (developer-authenticated flow). */
export const COGNITO_IDENTITY_PROVIDER = 'cognito-identity.amazonaws.com';

/** AWS's message when an authenticated identity is used without one of its logins. */
export const LOGINS_DONT_MATCH = "Logins don't match. Please include at least one valid login for this identity or identity pool.";

export interface VerifiedLogin {
  readonly providerName: string;
  readonly subject: string;
}

export interface VerifiedLogins {
  /** Logins to link (external providers). */
  readonly logins: readonly VerifiedLogin[];
  /** The identity a Cosync OpenID token presented under `cognito-identity.amazonaws.com` speaks for. */
  readonly tokenIdentityId: string | undefined;
}

/**
 * Verifies every entry of a `Logins` map; any entry that does not verify refuses the whole request
 * (NotAuthorizedException), so an unverifiable login is never trusted. Cosync's own tokens must be for this pool.
 */
export async function verifyLogins(
  ctx: RequestContext, pool: IdentityPool, logins: Readonly<Record<string, string>> | undefined,
): Promise<VerifiedLogins> {
  const { loginVerifier, keys, clock, urls } = ctx.services;
  const verified: VerifiedLogin[] = [];
  let tokenIdentityId: string | undefined;
  for (const [providerName, token] of Object.entries(logins ?? {})) {
    if (providerName === COGNITO_IDENTITY_PROVIDER) {
      const claims = await verifyOwnOpenIdToken(keys, token, { issuer: urls.issuer, now: clock.now() }).catch((e: unknown) => {
        // Worded as for other providers' tokens (login-providers.ts).
        throw errors.notAuthorized(`Invalid login token. ${isExpiredToken(e) ? 'Token is expired.' : 'Not a valid OpenId Connect identity token.'}`);
      });
      if (claims.identityPoolId !== pool.identityPoolId) throw errors.notAuthorized('Invalid login token. Incorrect token audience.');
      tokenIdentityId = claims.identityId;
    } else if (providerName === pool.developerProviderName) {
      // Developer user identifiers are vouched for by developer credentials only (GetOpenIdTokenForDeveloperIdentity).
      throw errors.notAuthorized(`Invalid login token. Use GetOpenIdTokenForDeveloperIdentity for provider ${providerName}.`);
    } else {
      const { subject } = await loginVerifier.verify(pool, providerName, token, clock.now());
      verified.push({ providerName, subject });
    }
  }
  return { logins: verified, tokenIdentityId };
}

/** GetOpenIdTokenForDeveloperIdentity's answer for a developer user linked to another identity than the one named. */
export const DEVELOPER_USER_ALREADY_REGISTERED =
  'The provided developer user identifier is already registered with Cognito under a different identity ID.';

async function enabledIdentity(ctx: RequestContext, pool: IdentityPool, identityId: string): Promise<Identity> {
  const identity = await ctx.services.store.getIdentity(identityId);
  if (!identity || identity.identityPoolId !== pool.identityPoolId || identity.disabled) {
    throw errors.notAuthorized(`Invalid login token. Identity '${identityId}' is not valid in this identity pool.`);
  }
  return identity;
}

/**
 * Decides which identity a GetId / GetCredentialsForIdentity / GetOpenIdToken call acts as, as Cognito does
 * (SPEC §5.7, §14):
 * - logins nobody owns are linked to the identity the call names, or to a new identity;
 * - a login owned by another identity merges the two: the identity that already owns a presented login survives
 *   (the oldest, when several do), the others are disabled and their datasets move to the survivor as
 *   `<name>.<oldId>`, so a guest who logs in never loses data;
 * - an identity that has logins can only be used with at least one of them (else NotAuthorizedException).
 * Callers run it inside resolvingLoginRaces, with the lookups its arguments come from.
 */
export async function resolveIdentity(
  ctx: RequestContext, pool: IdentityPool, claimed: Identity | undefined, verified: VerifiedLogins,
  opts: { developerVouches?: boolean } = {},
): Promise<Identity> {
  const { store } = ctx.services;
  const owners = new Map<string, Identity>();
  const unowned: VerifiedLogin[] = [];
  for (const login of verified.logins) {
    const found = await store.findLogin(pool.identityPoolId, login.providerName, login.subject);
    // The caller checked this before; a request registering the same developer user may have linked it since.
    if (found && opts.developerVouches && claimed && login.providerName === pool.developerProviderName
      && found.identityId !== claimed.identityId) {
      throw errors.developerUserAlreadyRegistered(DEVELOPER_USER_ALREADY_REGISTERED);
    }
    if (found) owners.set(found.identityId, await enabledIdentity(ctx, pool, found.identityId));
    else unowned.push(login);
  }
  if (verified.tokenIdentityId) owners.set(verified.tokenIdentityId, await enabledIdentity(ctx, pool, verified.tokenIdentityId));
  if (claimed && !owners.has(claimed.identityId)) {
    if (claimed.disabled && owners.size === 0) throw errors.notAuthorized(`Identity '${claimed.identityId}' is disabled.`);
    // Developer credentials (GetOpenIdTokenForDeveloperIdentity) may add a login to an authenticated identity.
    if (!claimed.disabled && !opts.developerVouches && (await store.listLogins(claimed.identityId)).length > 0) {
      throw errors.notAuthorized(LOGINS_DONT_MATCH);
    }
  }
  const candidates = [...owners.values()].sort((a, b) => a.createdAt - b.createdAt || a.identityId.localeCompare(b.identityId));
  const survivor = candidates[0] ?? claimed ?? (await createIdentity(ctx, pool));
  const claimedJoins = claimed && !claimed.disabled && !owners.has(claimed.identityId) && claimed !== survivor;
  const merged = [...candidates.slice(1), ...(claimedJoins ? [claimed] : [])];
  if (merged.length > 0) {
    const ids = [survivor, ...merged].map((identity) => identity.identityId);
    const logins = await store.listLoginsOf(ids);
    const loginSets = ids.map((id) => logins.get(id) ?? []);
    // The logins linked along with the merge count too: refused now, not after the merge committed.
    checkMerge([...loginSets, unowned], pool.developerProviderName, survivor.identityId);
  }
  const now = ctx.services.clock.now();
  for (const other of merged) {
    const outcome = await store.mergeIdentities({
      survivorId: survivor.identityId, mergedId: other.identityId, now,
      datasetName: (name, taken) => mergedDatasetName(name, other.identityId, taken),
    });
    // One of the two was deleted meanwhile (DeleteIdentities): answered as any identity that is not there.
    if (!outcome) throw errors.notAuthorized(`Invalid login token. Identity '${other.identityId}' is not valid in this identity pool.`);
  }
  return linkAll(ctx, pool, survivor, unowned, now);
}

/**
 * Links logins nobody owned yet; a second login of the same public provider is refused (one per provider). The
 * pool's developer provider is exempt: Cognito "supports the association of multiple developer user identifiers
 * with an identity ID" (LookupDeveloperIdentity), linked through GetOpenIdTokenForDeveloperIdentity with an IdentityId.
 */
async function linkAll(
  ctx: RequestContext, pool: IdentityPool, survivor: Identity, logins: readonly VerifiedLogin[], now: number,
): Promise<Identity> {
  const { store } = ctx.services;
  if (logins.length === 0) return survivor;
  const existing = await store.listLogins(survivor.identityId);
  checkLinkedLogins(existing.length + logins.length, survivor.identityId);
  for (const login of logins) {
    if (login.providerName === pool.developerProviderName) continue;
    if (existing.some((l) => l.providerName === login.providerName && l.subject !== login.subject)) {
      throw errors.conflict(`Identity '${survivor.identityId}' already has a login for provider ${login.providerName}.`);
    }
  }
  for (const login of logins) {
    const stored = await store.linkLogin({ ...login, identityPoolId: pool.identityPoolId, identityId: survivor.identityId, linkedAt: now });
    // Deleted meanwhile (DeleteIdentities), as any identity that is not there.
    if (!stored) throw errors.notAuthorized(`Invalid login token. Identity '${survivor.identityId}' is not valid in this identity pool.`);
    // Another request linked the same login first: resolvingLoginRaces runs the call again, which then finds the
    // login's owner (a fresh identity of ours stays unused).
    if (stored.identityId !== survivor.identityId) throw new LoginLinkedMeanwhile();
  }
  // linkLogin set the stored identity's lastModifiedAt.
  return { ...survivor, lastModifiedAt: now };
}

/** Thrown when another request linked one of the call's logins to another identity first. */
class LoginLinkedMeanwhile extends Error {}

/** Runs of a call that lose a login to concurrent requests before it answers ResourceConflictException. */
const LOGIN_RACE_RUNS = 3;

/**
 * Runs `resolve` (an operation's lookups, then its resolveIdentity) again when another request linked one of its
 * logins first. The run again sees the login's owner and takes the path the call would have taken had it come
 * second: the guest it names is merged into the owner, or DeveloperUserAlreadyRegisteredException for a developer
 * user registered meanwhile under another identity. Answering as the owner straight away, as it once did, left two
 * guests signing in to one new account at once with one of them unmerged and its data out of reach.
 */
export async function resolvingLoginRaces<T>(resolve: () => Promise<T>): Promise<T> {
  for (let run = 1; ; run++) {
    try {
      return await resolve();
    } catch (err) {
      if (!(err instanceof LoginLinkedMeanwhile)) throw err;
      if (run >= LOGIN_RACE_RUNS) throw errors.conflict('The logins were linked by concurrent requests meanwhile; try again');
    }
  }
}

/**
 * The identity a public call naming one acts as (GetCredentialsForIdentity, GetOpenIdToken): the named identity,
 * with the call's logins verified, then linked or merged (resolveIdentity), and its pool.
 */
export function resolveNamedIdentity(
  ctx: RequestContext, identityId: string, logins: Record<string, string> | undefined,
): Promise<{ pool: IdentityPool; identity: Identity }> {
  return resolvingLoginRaces(async () => {
    const claimed = await requireIdentity(ctx, identityId);
    const pool = await requirePool(ctx, claimed.identityPoolId);
    return { pool, identity: await resolveIdentity(ctx, pool, claimed, await verifyLogins(ctx, pool, logins)) };
  });
}

/** Linked logins per identity, merges included (the model's MergeDeveloperIdentities; SPEC §14). */
export const MAX_LINKED_LOGINS = 20;

/**
 * Refuses a link or merge that would leave an identity with more than MAX_LINKED_LOGINS logins. The model names
 * no error for it; ResourceConflictException is one every linking operation declares.
 */
export function checkLinkedLogins(count: number, identityId: string): void {
  if (count > MAX_LINKED_LOGINS) {
    throw errors.conflict(
      `The number of linked logins is limited to ${MAX_LINKED_LOGINS}; identity '${identityId}' would have ${count}.`);
  }
}

/**
 * Refuses a merge of identities whose logins (`loginSets`: each identity's, and any linked along with the merge)
 * could not all belong to one: two different users of one public provider (the model's MergeDeveloperIdentities:
 * "an exception will be thrown"), or more than MAX_LINKED_LOGINS logins. The pool's developer provider may have
 * several users.
 */
export function checkMerge(
  loginSets: readonly (readonly VerifiedLogin[])[], developerProvider: string | null, survivorId: string,
): void {
  checkLinkedLogins(loginSets.reduce((n, logins) => n + logins.length, 0), survivorId);
  const users = new Map<string, string>();
  for (const login of loginSets.flat()) {
    if (login.providerName === developerProvider) continue;
    const user = users.get(login.providerName);
    if (user !== undefined && user !== login.subject) {
      throw errors.conflict(
        `Identities with different users of provider ${login.providerName} cannot be merged into '${survivorId}'.`);
    }
    users.set(login.providerName, login.subject);
  }
}

export async function createIdentity(ctx: RequestContext, pool: IdentityPool): Promise<Identity> {
  const now = ctx.services.clock.now();
  const identity: Identity = {
    identityId: newRegionalId(ctx), identityPoolId: pool.identityPoolId, createdAt: now, lastModifiedAt: now, disabled: false,
  };
  // A pool deleted meanwhile (DeleteIdentityPool) gets no identity: it would outlive its pool.
  if (!(await ctx.services.store.createIdentity(identity, { poolMustExist: true }))) {
    throw poolNotFound(pool.identityPoolId);
  }
  return identity;
}

/** The provider names of an identity's logins; empty for a guest (unauthenticated identity). */
export async function loginProviders(ctx: RequestContext, identityId: string): Promise<string[]> {
  return [...new Set((await ctx.services.store.listLogins(identityId)).map((l) => l.providerName))];
}
