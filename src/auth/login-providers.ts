/**
 * Verification of third-party login tokens (the `Logins` map of GetId, GetCredentialsForIdentity and
 * GetOpenIdToken) issued by OpenID Connect issuers: generic OIDC providers (pool.openIdConnectProviderArns),
 * Cognito user pools (pool.cognitoIdentityProviders) and JWT-issuing public providers such as Google or Apple
 * (pool.supportedLoginProviders).
 *
 * Contract: a token is accepted only when the pool lists its provider, the operator configured the provider
 * (--login-providers; Cognito user pools default to their real issuer URL), and the JWT verifies against the
 * issuer's published JWKS: asymmetric signature, exact issuer, an audience the pool (or, for OIDC providers,
 * the operator) allows, exp/nbf at the request time, and a `sub`. Anything unverifiable is refused; nothing
 * here logs or echoes a token. Token faults are NotAuthorizedException; an unreachable or broken issuer is
 * ExternalServiceException, as Cognito Identity answers.
 */
import {
  createRemoteJWKSet,
  customFetch,
  errors as jose,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
  type RemoteJWKSet,
} from 'jose';
import { errors, ServiceError } from '../api/errors.js';
import type { IdentityPool } from '../storage/types.js';

/** One provider as the operator configures it. `audiences` is required for OIDC (IAM OIDC provider) logins. */
export interface LoginProviderConfig {
  issuer: string;
  jwksUri?: string;
  audiences?: string[];
}

/** Keyed by provider name exactly as clients send it in `Logins`. */
export type LoginProvidersConfig = Readonly<Record<string, LoginProviderConfig>>;

export interface LoginVerifierOptions {
  /** HTTP client for discovery documents and JWKS (default: the global fetch). */
  fetch?: typeof fetch;
  /** How long a discovery document and a JWKS are trusted before refetching (default 10 minutes). */
  cacheMs?: number;
  /** Least time between JWKS refetches triggered by an unknown `kid` (default 30 s): bounds refetch spam. */
  cooldownMs?: number;
  /** Timeout of each request to an issuer (default 5 s). */
  timeoutMs?: number;
}

export interface VerifiedLogin {
  providerName: string;
  subject: string;
  claims: JWTPayload;
}

/** Asymmetric algorithms only: HS* would let anyone holding a public key forge tokens; `none` is no signature. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384', 'EdDSA'];
const CLOCK_TOLERANCE_SECONDS = 60;
const DEFAULT_CACHE_MS = 10 * 60_000;
const DEFAULT_COOLDOWN_MS = 30_000;
const DEFAULT_TIMEOUT_MS = 5_000;
/** Logins keys are 1–128 characters on the wire (SPEC §14). */
const MAX_PROVIDER_NAME = 128;
/** The real Cognito user pool provider name; its issuer is `https://<name>`. */
const COGNITO_USER_POOL_NAME = /^cognito-idp\.[a-z0-9-]+\.amazonaws\.com(\.cn)?\/[a-z0-9-]+_[0-9A-Za-z]+$/;
const OIDC_PROVIDER_ARN = /^arn:aws[a-z-]*:iam::\d*:oidc-provider\/(.+)$/;

// ---------------------------------------------------------------------------------------------------------
// Configuration

function httpUrl(value: unknown, what: string, opts: { issuer: boolean }): string {
  let url: URL | undefined;
  if (typeof value === 'string') {
    try { url = new URL(value); } catch { url = undefined; }
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new Error(`${what} must be an http(s) URL, got ${JSON.stringify(value)}`);
  }
  // OIDC issuers are compared byte for byte and have no query or fragment (OpenID Connect Discovery §3).
  if (opts.issuer && (url.search || url.hash)) throw new Error(`${what} must not have a query or fragment`);
  return value as string;
}

function parseProvider(name: string, value: unknown): LoginProviderConfig {
  const where = `login providers: provider '${name}'`;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`${where} must be an object like {"issuer": "https://…"}`);
  }
  const entry = value as Record<string, unknown>;
  const unknown = Object.keys(entry).filter((k) => !['issuer', 'jwksUri', 'audiences'].includes(k));
  if (unknown.length > 0) throw new Error(`${where}: unknown field(s) ${unknown.join(', ')} (allowed: issuer, jwksUri, audiences)`);
  const provider: LoginProviderConfig = { issuer: httpUrl(entry.issuer, `${where}: issuer`, { issuer: true }) };
  if (entry.jwksUri !== undefined) provider.jwksUri = httpUrl(entry.jwksUri, `${where}: jwksUri`, { issuer: false });
  if (entry.audiences !== undefined) {
    const aud = entry.audiences;
    if (!Array.isArray(aud) || aud.length === 0 || !aud.every((a) => typeof a === 'string' && a.length > 0)) {
      throw new Error(`${where}: audiences must be a non-empty array of non-empty strings (the accepted client ids)`);
    }
    provider.audiences = [...(aud as string[])];
  }
  return Object.freeze(provider);
}

/**
 * Parses the --login-providers JSON: `{ "<provider name>": { "issuer": "https://…", "jwksUri"?: "https://…",
 * "audiences"?: ["client-id", …] } }`. Throws an Error naming the offending provider and field.
 */
export function parseLoginProvidersConfig(text: string): LoginProvidersConfig {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`login providers: not valid JSON (${(e as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error('login providers: expected a JSON object keyed by provider name');
  }
  const out: Record<string, LoginProviderConfig> = {};
  for (const [name, value] of Object.entries(parsed)) {
    if (name.length === 0 || name.length > MAX_PROVIDER_NAME) {
      throw new Error(`login providers: provider name must be 1-${MAX_PROVIDER_NAME} characters, got '${name}'`);
    }
    out[name] = parseProvider(name, value);
  }
  return Object.freeze(out);
}

// ---------------------------------------------------------------------------------------------------------
// Which providers a pool accepts, and with which audiences

interface PoolRule {
  /** Client ids the token's `aud` (or, for Cognito, `client_id`) must contain one of. */
  readonly audiences: ReadonlySet<string>;
  /** Listed as a Cognito user pool: ID tokens only, default issuer. */
  readonly cognito: boolean;
  /** Listed as an OIDC provider ARN: audiences come from the operator's config. */
  readonly oidc: boolean;
}

/** The provider name of an IAM OIDC provider ARN (`arn:aws:iam::<acct>:oidc-provider/<name>`), or null. */
export function oidcProviderName(arn: string): string | null {
  return OIDC_PROVIDER_ARN.exec(arn)?.[1] ?? null;
}

/** How the pool lists `providerName` (a provider listed several ways accepts the union of audiences). */
function poolRule(pool: IdentityPool, providerName: string, config: LoginProviderConfig | undefined): PoolRule | null {
  const audiences = new Set<string>();
  const cognitoEntries = pool.cognitoIdentityProviders.filter((p) => p.providerName === providerName);
  for (const entry of cognitoEntries) audiences.add(entry.clientId);
  const oidc = pool.openIdConnectProviderArns.some((arn) => oidcProviderName(arn) === providerName);
  // No IAM here: the operator's `audiences` stand in for the IAM OIDC provider's client id list.
  if (oidc) for (const a of config?.audiences ?? []) audiences.add(a);
  const supported = Object.hasOwn(pool.supportedLoginProviders, providerName);
  if (supported) audiences.add(pool.supportedLoginProviders[providerName] ?? '');
  audiences.delete('');
  if (cognitoEntries.length === 0 && !oidc && !supported) return null;
  return { audiences, cognito: cognitoEntries.length > 0, oidc };
}

// ---------------------------------------------------------------------------------------------------------
// Failure mapping

/** A failure talking to the issuer (not a fault of the token): answered as ExternalServiceException. */
class IssuerUnavailable extends Error {}

const invalid = (reason: string): ServiceError => errors.notAuthorized(`Invalid login token. ${reason}`);

/** The caller-safe reason a token failed jose verification, or null when the error is not a token fault. */
function tokenFault(e: unknown): string | null {
  if (e instanceof jose.JWTExpired) return 'Token is expired.';
  if (e instanceof jose.JWTClaimValidationFailed) {
    switch (e.claim) {
      case 'nbf': return 'Token is not yet valid.';
      case 'iss': return 'Issuer does not match providerName';
      case 'sub': return 'Token has no subject (sub).';
      case 'exp': return 'Token has no expiry (exp).';
      default: return `Token claim '${e.claim}' is invalid.`;
    }
  }
  if (e instanceof jose.JWSSignatureVerificationFailed) return 'Token signature is invalid.';
  if (e instanceof jose.JOSEAlgNotAllowed) return 'Token signing algorithm is not allowed.';
  if (e instanceof jose.JWKSNoMatchingKey) return 'Token signing key is not published by the issuer.';
  if (e instanceof jose.JWKSMultipleMatchingKeys) return 'Token does not identify a unique signing key.';
  if (e instanceof jose.JOSEError) return 'Token is malformed.';
  return null;
}

// ---------------------------------------------------------------------------------------------------------
// The verifier

interface CachedDiscovery {
  readonly fetchedAt: number;
  readonly jwksUri: Promise<string>;
}

/**
 * Verifies login tokens against their issuers. One instance per server: it caches discovery documents (per
 * issuer) and JWKS resolvers (per JWKS URI); jose refetches a JWKS when it goes stale or a token names an
 * unknown `kid` (key rotation), at most once per cooldown.
 */
export class LoginVerifier {
  private readonly fetchImpl: typeof fetch;
  private readonly cacheMs: number;
  private readonly cooldownMs: number;
  private readonly timeoutMs: number;
  private readonly discoveries = new Map<string, CachedDiscovery>();
  private readonly keySets = new Map<string, RemoteJWKSet>();

  constructor(private readonly config: LoginProvidersConfig, opts: LoginVerifierOptions = {}) {
    // Looked up at call time so the global fetch can be replaced (e.g. by test doubles).
    this.fetchImpl = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.cacheMs = opts.cacheMs ?? DEFAULT_CACHE_MS;
    this.cooldownMs = opts.cooldownMs ?? DEFAULT_COOLDOWN_MS;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /**
   * Verifies `token` as a login with `providerName` for `pool` at time `now` (epoch ms). Resolves to the
   * login's subject and verified claims; rejects with NotAuthorizedException (token or pool/provider setup) or
   * ExternalServiceException (issuer unreachable or serving a broken discovery document / JWKS).
   */
  async verify(pool: IdentityPool, providerName: string, token: string, now: number): Promise<VerifiedLogin> {
    const configured = Object.hasOwn(this.config, providerName) ? this.config[providerName] : undefined;
    const rule = poolRule(pool, providerName, configured);
    if (!rule) throw invalid(`Issuer is not configured for this identity pool: ${providerName}`);
    const provider = this.providerConfig(providerName, rule, configured);
    if (rule.audiences.size === 0) {
      // Never accept any audience: a token minted for another app of the same issuer must not log in here.
      throw invalid(`No accepted audiences are configured for ${providerName}; the operator must set its `
        + "'audiences' in --login-providers.");
    }
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(token, this.keyResolver(provider), {
        issuer: provider.issuer,
        algorithms: ALGORITHMS,
        currentDate: new Date(now),
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['sub', 'exp'],
      }));
    } catch (e) {
      throw this.mapFailure(providerName, e);
    }
    const subject = checkClaims(claims, rule);
    return { providerName, subject, claims };
  }

  /** The operator's config for a provider the pool lists; Cognito user pools default to their real issuer. */
  private providerConfig(providerName: string, rule: PoolRule, configured: LoginProviderConfig | undefined): LoginProviderConfig {
    if (configured) return configured;
    if (rule.cognito && COGNITO_USER_POOL_NAME.test(providerName)) return { issuer: `https://${providerName}` };
    throw invalid(`Login provider ${providerName} is not configured on this server; the operator must `
      + 'configure it in --login-providers.');
  }

  private mapFailure(providerName: string, e: unknown): unknown {
    if (e instanceof IssuerUnavailable) {
      return new ServiceError('ExternalServiceException',
        `Unable to verify the login token with ${providerName}: ${e.message}`);
    }
    const reason = tokenFault(e);
    return reason === null ? e : invalid(reason);
  }

  /**
   * A jose key resolver that finds the issuer's JWKS lazily, so tokens refused on their header alone (`none`,
   * HS256, garbage) never cause a request to the issuer. Failures reaching the issuer become IssuerUnavailable;
   * "no key for this kid" stays a token fault.
   */
  private keyResolver(provider: LoginProviderConfig): JWTVerifyGetKey {
    return async (header, token) => {
      const keySet = await this.keySet(provider);
      try {
        return await keySet(header, token);
      } catch (e) {
        if (e instanceof jose.JWKSNoMatchingKey || e instanceof jose.JWKSMultipleMatchingKeys) throw e;
        if (e instanceof jose.JWKSTimeout) throw new IssuerUnavailable('the JWKS request timed out.');
        if (e instanceof jose.JWKSInvalid) throw new IssuerUnavailable('the issuer serves an invalid JWKS.');
        throw new IssuerUnavailable('the JWKS could not be fetched.');
      }
    };
  }

  private async keySet(provider: LoginProviderConfig): Promise<RemoteJWKSet> {
    const uri = provider.jwksUri ?? await this.discoverJwksUri(provider.issuer);
    let keySet = this.keySets.get(uri);
    if (!keySet) {
      keySet = createRemoteJWKSet(new URL(uri), {
        timeoutDuration: this.timeoutMs,
        cooldownDuration: this.cooldownMs,
        cacheMaxAge: this.cacheMs,
        [customFetch]: this.fetchImpl,
      });
      this.keySets.set(uri, keySet);
    }
    return keySet;
  }

  /** The issuer's `jwks_uri`, from its discovery document; cached for cacheMs, failures are not cached. */
  private discoverJwksUri(issuer: string): Promise<string> {
    const cached = this.discoveries.get(issuer);
    if (cached && Date.now() - cached.fetchedAt < this.cacheMs) return cached.jwksUri;
    const entry: CachedDiscovery = { fetchedAt: Date.now(), jwksUri: this.fetchDiscovery(issuer) };
    this.discoveries.set(issuer, entry);
    entry.jwksUri.catch(() => {
      if (this.discoveries.get(issuer) === entry) this.discoveries.delete(issuer);
    });
    return entry.jwksUri;
  }

  private async fetchDiscovery(issuer: string): Promise<string> {
    const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    let doc: unknown;
    try {
      const response = await this.fetchImpl(url, {
        method: 'GET',
        redirect: 'manual',
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      if (response.status !== 200) throw new IssuerUnavailable(`the discovery document answered HTTP ${response.status}.`);
      doc = await response.json();
    } catch (e) {
      if (e instanceof IssuerUnavailable) throw e;
      const timedOut = e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError');
      throw new IssuerUnavailable(timedOut ? 'the discovery document request timed out.' : 'the discovery document could not be fetched.');
    }
    return jwksUriOf(doc, issuer);
  }
}

/** Validates a discovery document (OpenID Connect Discovery §4.3: its issuer must equal the one asked for). */
function jwksUriOf(doc: unknown, issuer: string): string {
  const fields = typeof doc === 'object' && doc !== null ? doc as Record<string, unknown> : {};
  if (fields.issuer !== issuer) throw new IssuerUnavailable('the discovery document names a different issuer.');
  const uri = fields.jwks_uri;
  let parsed: URL | undefined;
  try { parsed = typeof uri === 'string' ? new URL(uri) : undefined; } catch { parsed = undefined; }
  // An https issuer must not downgrade its keys to plain http.
  const allowed = issuer.startsWith('https:') ? ['https:'] : ['https:', 'http:'];
  if (!parsed || !allowed.includes(parsed.protocol)) {
    throw new IssuerUnavailable('the discovery document has no usable jwks_uri.');
  }
  return parsed.href;
}

/** Checks beyond jose's: subject, Cognito ID-token-only, audience. Returns the subject. */
function checkClaims(claims: JWTPayload, rule: PoolRule): string {
  if (typeof claims.sub !== 'string' || claims.sub.length === 0) throw invalid('Token has no subject (sub).');
  // Cognito Identity takes ID tokens; a user pool access token (token_use "access") is refused.
  if (rule.cognito && claims.token_use !== undefined && claims.token_use !== 'id') {
    throw invalid('Only ID tokens are accepted (token_use must be "id").');
  }
  const aud = claims.aud === undefined ? [] : Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  const audienceOk = aud.some((a) => rule.audiences.has(a))
    || (rule.cognito && typeof claims.client_id === 'string' && rule.audiences.has(claims.client_id));
  if (!audienceOk) throw invalid('Incorrect token audience.');
  return claims.sub;
}
