import { createHmac, createSecretKey, timingSafeEqual, type Hmac, type KeyObject } from 'node:crypto';

/** Each byte key as a KeyObject, made on first use and kept while the key is. Keys are never changed in place. */
const keyObjects = new WeakMap<Uint8Array, KeyObject>();

/**
 * `createHmac('sha256', key)` for a key used again and again (server keys, signing keys). Node 24 checks a Buffer or
 * Uint8Array key on every call through a path that took about 10 µs, against under 2 µs for the same key as a
 * KeyObject (bench/README.md), so the key goes in as a KeyObject.
 */
export function hmacSha256(key: Uint8Array): Hmac {
  let keyObject = keyObjects.get(key);
  if (keyObject === undefined) {
    keyObject = createSecretKey(key);
    keyObjects.set(key, keyObject);
  }
  return createHmac('sha256', keyObject);
}

/**
 * Constant-time equality of two texts: a MAC or signature as sent against the one expected. Compared as text, not
 * decoded first: a lenient base64url decode would let a changed last character (unused low bits) pass.
 */
export function sameText(given: string, expected: string): boolean {
  const x = Buffer.from(given, 'utf8');
  const y = Buffer.from(expected, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
