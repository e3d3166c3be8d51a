/**
 * Temporary credentials for one identity, as GetCredentialsForIdentity hands them out (AccessKeyId, SecretKey,
 * SessionToken, Expiration), made so that nothing needs storing:
 * - the session token is `<payload>.<mac>`: base64url JSON of (key id, access key id, identity, pool, expiry,
 *   authenticated) and an HMAC-SHA256 under that server key;
 * - the secret key is derived from the server key and the payload, so whoever holds the server key can recompute
 *   it from the token the client sends with every request (X-Amz-Security-Token).
 * Revocation (identity deleted, disabled or merged away) is checked against the store on use, not here.
 */
import { hmacSha256, sameText } from '../hmac.js';
import type { ServerKey, ServerKeys } from './server-keys.js';

export interface CredentialClaims {
  readonly identityId: string;
  readonly identityPoolId: string;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
  readonly authenticated: boolean;
}

export interface IssuedCredentials {
  readonly accessKeyId: string;
  readonly secretKey: string;
  readonly sessionToken: string;
  /** Epoch milliseconds. */
  readonly expiration: number;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function hmac(key: ServerKey, label: string, data: string): Buffer {
  return hmacSha256(key.secret).update(`${label}\n${data}`).digest();
}

function secretFor(key: ServerKey, payload: string): string {
  // 30 bytes make 40 base64 characters, the length of an AWS secret access key.
  return hmac(key, 'cosync/credentials/secret', payload).subarray(0, 30).toString('base64');
}

/** `random`: 16 random bytes for the access key id (AWS's shape: ASIA + 16 base32 characters). */
export function issueIdentityCredentials(keys: ServerKeys, claims: CredentialClaims, random: Buffer): IssuedCredentials {
  if (random.length < 16) throw new Error('16 random bytes are needed');
  const accessKeyId = `ASIA${[...random.subarray(0, 16)].map((b) => BASE32[b & 31]).join('')}`;
  const key = keys.active;
  const payload = Buffer.from(JSON.stringify([
    1, key.id, accessKeyId, claims.identityId, claims.identityPoolId, claims.expiresAt, claims.authenticated ? 1 : 0,
  ])).toString('base64url');
  const mac = hmac(key, 'cosync/credentials/token', payload).toString('base64url');
  return { accessKeyId, secretKey: secretFor(key, payload), sessionToken: `${payload}.${mac}`, expiration: claims.expiresAt };
}

/**
 * Opens a session token presented with `accessKeyId`: undefined when it was not issued by one of `keys` for that
 * access key (forged, altered, or signed by a key no longer listed). Expiry is the caller's to check.
 */
export function openSessionToken(
  keys: ServerKeys, accessKeyId: string, sessionToken: string,
): { claims: CredentialClaims; secretKey: string } | undefined {
  const dot = sessionToken.indexOf('.');
  if (dot <= 0) return undefined;
  const payload = sessionToken.slice(0, dot);
  let fields: unknown;
  try {
    fields = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(fields) || fields[0] !== 1 || fields.length !== 7) return undefined;
  const [, keyId, tokenAccessKeyId, identityId, identityPoolId, expiresAt, authenticated] = fields as [
    number, string, string, string, string, number, number,
  ];
  const key = keys.byId.get(keyId);
  if (!key || tokenAccessKeyId !== accessKeyId) return undefined;
  if (!sameText(sessionToken.slice(dot + 1), hmac(key, 'cosync/credentials/token', payload).toString('base64url'))) {
    return undefined;
  }
  return {
    claims: { identityId, identityPoolId, expiresAt, authenticated: authenticated === 1 },
    secretKey: secretFor(key, payload),
  };
}
