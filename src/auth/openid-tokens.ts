/**
 * Cosync's own OpenID Connect tokens (GetOpenIdToken, GetOpenIdTokenForDeveloperIdentity), signed ES256 with a
 * P-256 key derived from each server key, so every instance holding the keys signs and verifies alike and the
 * keys rotate with the server keys. The public keys are served as a JWKS beside an OpenID discovery document
 * (src/http/openid-routes.ts), so other services can verify the tokens.
 *
 * Claims follow Cognito Identity: `iss` (this server's public URL), `sub` (identity ID), `aud` (identity pool
 * ID), `amr` (["unauthenticated"] or ["authenticated", <login providers>…]), `iat`, `exp`.
 */
import { createECDH, createHmac } from 'node:crypto';
import { SignJWT, errors as joseErrors, importJWK, jwtVerify, type JWK, type JWTPayload } from 'jose';
import type { ServerKey, ServerKeys } from './server-keys.js';

/** The order of the P-256 group: a private scalar must lie in [1, n-1]. */
const P256_ORDER = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');

export interface OpenIdClaims {
  readonly identityId: string;
  readonly identityPoolId: string;
  readonly amr: readonly string[];
}

const jwkCache = new WeakMap<ServerKey, { privateJwk: JWK; publicJwk: JWK }>();

/** The P-256 key pair of a server key, as JWKs (`kid` = the server key id). Deterministic. */
export function signingJwks(key: ServerKey): { privateJwk: JWK; publicJwk: JWK } {
  const cached = jwkCache.get(key);
  if (cached) return cached;
  let counter = 0;
  let d: Buffer;
  do {
    d = createHmac('sha256', key.secret).update(`cosync/openid/signing-key/${counter++}`).digest();
  } while (BigInt(`0x${d.toString('hex')}`) === 0n || BigInt(`0x${d.toString('hex')}`) >= P256_ORDER);
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(d);
  const pub = ecdh.getPublicKey(); // 0x04 || X || Y
  const publicJwk: JWK = {
    kty: 'EC', crv: 'P-256', kid: key.id, use: 'sig', alg: 'ES256',
    x: pub.subarray(1, 33).toString('base64url'), y: pub.subarray(33, 65).toString('base64url'),
  };
  const pair = { publicJwk, privateJwk: { ...publicJwk, d: d.toString('base64url') } };
  jwkCache.set(key, pair);
  return pair;
}

/** The JWKS document: the public key of every server key, so tokens signed before a rotation still verify. */
export function jwks(keys: ServerKeys): { keys: JWK[] } {
  return { keys: [...keys.byId.values()].map((k) => signingJwks(k).publicJwk) };
}

export async function issueOpenIdToken(
  keys: ServerKeys, claims: OpenIdClaims, opts: { issuer: string; now: number; ttlSeconds: number; extra?: JWTPayload },
): Promise<string> {
  const { privateJwk } = signingJwks(keys.active);
  const iat = Math.floor(opts.now / 1000);
  return new SignJWT({ ...opts.extra, amr: [...claims.amr] })
    .setProtectedHeader({ alg: 'ES256', kid: keys.active.id, typ: 'JWT' })
    .setIssuer(opts.issuer)
    .setSubject(claims.identityId)
    .setAudience(claims.identityPoolId)
    .setIssuedAt(iat)
    .setExpirationTime(iat + opts.ttlSeconds)
    .sign(await importJWK(privateJwk, 'ES256'));
}

/**
 * Verifies a token this server (or another instance with the same keys) issued: signature by a listed key,
 * issuer, expiry at `now`. Throws jose's errors otherwise; callers turn them into NotAuthorizedException.
 */
export async function verifyOwnOpenIdToken(
  keys: ServerKeys, token: string, opts: { issuer: string; now: number },
): Promise<OpenIdClaims & { payload: JWTPayload }> {
  const { payload } = await jwtVerify(token, async (header) => {
    const key = header.kid === undefined ? undefined : keys.byId.get(header.kid);
    if (!key) throw new Error(`unknown key id ${String(header.kid)}`);
    return importJWK(signingJwks(key).publicJwk, 'ES256');
  }, { issuer: opts.issuer, algorithms: ['ES256'], currentDate: new Date(opts.now) });
  const aud = Array.isArray(payload.aud) ? payload.aud[0] : payload.aud;
  if (typeof payload.sub !== 'string' || typeof aud !== 'string') throw new Error('token lacks sub or aud');
  const amr = Array.isArray(payload['amr']) ? payload['amr'].filter((a): a is string => typeof a === 'string') : [];
  return { identityId: payload.sub, identityPoolId: aud, amr, payload };
}

/** True when verifyOwnOpenIdToken refused a token only because it has expired. */
export function isExpiredToken(error: unknown): boolean {
  return error instanceof joseErrors.JWTExpired;
}
