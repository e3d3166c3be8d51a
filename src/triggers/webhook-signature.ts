import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The signature Cosync puts on every webhook Sync Trigger call, so the receiver can tell the call came from this
 * server and was not replayed:
 *
 *   X-Cosync-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw request body>")>,
 *                       v2=<hex HMAC-SHA256(secret, "<t>.<X-Cosync-Request-Id>.<raw request body>")>
 *
 * The secret is --sync-trigger-webhook-secret (its UTF-8 bytes). A receiver recomputes the HMAC over the exact
 * body bytes it received, compares in constant time, and refuses a `t` too far from its own clock. v2 also covers
 * the request id, so a receiver that remembers the ids it has seen within its tolerance can refuse a replay (an
 * unsigned id could be changed on one); v1 is kept for receivers written against it.
 */
export const SIGNATURE_HEADER = 'x-cosync-signature';

export function signWebhookBody(secret: string, body: string | Buffer, nowMs: number, requestId: string): string {
  const t = Math.floor(nowMs / 1000);
  return `t=${t},v1=${mac(secret, `${t}.`, body)},v2=${mac(secret, `${t}.${requestId}.`, body)}`;
}

/**
 * True when `header` is a valid signature of `body` under `secret` made within `toleranceSeconds` of `nowMs`: its v2,
 * over `requestId` too, when one is given, else its v1. Exported for receivers written in JavaScript (and the tests).
 */
export function verifyWebhookSignature(
  secret: string, header: string | undefined, body: string | Buffer, nowMs: number, toleranceSeconds = 300,
  requestId?: string,
): boolean {
  if (header === undefined) return false;
  const parts = new Map(header.split(',').map((p) => {
    const eq = p.indexOf('=');
    return [p.slice(0, eq).trim(), p.slice(eq + 1).trim()] as const;
  }));
  const t = Number(parts.get('t'));
  const given = parts.get(requestId === undefined ? 'v1' : 'v2');
  if (!Number.isSafeInteger(t) || given === undefined || !/^[0-9a-f]{64}$/.test(given)) return false;
  if (Math.abs(nowMs / 1000 - t) > toleranceSeconds) return false;
  const expected = mac(secret, requestId === undefined ? `${t}.` : `${t}.${requestId}.`, body);
  return timingSafeEqual(Buffer.from(given, 'hex'), Buffer.from(expected, 'hex'));
}

function mac(secret: string, prefix: string, body: string | Buffer): string {
  return createHmac('sha256', secret).update(prefix).update(body).digest('hex');
}
