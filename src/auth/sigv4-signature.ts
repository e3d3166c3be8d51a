/**
 * The signature the client should have sent: @smithy/signature-v4 builds the canonical request (path, query and
 * headers) and derives the signing key, on exactly what the client declared it signed; the string to sign and its
 * HMAC under that key follow SigV4's fixed formulas.
 */
import { createHash, createHmac, hash as sha256Once, type Hash, type Hmac } from 'node:crypto';
import {
  ALGORITHM_IDENTIFIER, SignatureV4, createScope, getCanonicalHeaders, getSigningKey,
} from '@smithy/signature-v4';
import { errors } from '../api/errors.js';
import { hmacSha256 } from '../hmac.js';
import type { SignedRequest } from './sigv4.js';
import {
  parseQuery, setOwn, type HeaderLookup, type ParsedAuthorization, type SigningTime,
} from './sigv4-request.js';

export const MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key ' +
  'and signing method. Consult the service documentation for details.';

/** SHA-256 of an empty payload (GET and DELETE requests), as hex. */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/**
 * SHA-256 / HMAC-SHA256 for smithy on node:crypto (its Checksum interface); the pure-JS @aws-crypto/sha256-js costs
 * several times more. smithy uses it only to derive a signing key, once a day per key: the per-request hashes (the
 * canonical request, the string to sign) are computed in signatureFor.
 */
class NodeSha256 {
  private state!: Hash | Hmac;
  constructor(private readonly secret?: string | ArrayBuffer | ArrayBufferView) {
    this.reset();
  }
  update(data: Uint8Array): void {
    this.state.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return this.state.digest();
  }
  reset(): void {
    const s = this.secret;
    if (s === undefined) {
      this.state = createHash('sha256');
      return;
    }
    const key = typeof s === 'string' ? s
      : ArrayBuffer.isView(s) ? new Uint8Array(s.buffer, s.byteOffset, s.byteLength) : new Uint8Array(s);
    this.state = createHmac('sha256', key);
  }
}

/** Smithy's request shape, taken from an exported function so no undeclared package is imported. */
type SmithyRequest = Parameters<typeof getCanonicalHeaders>[0];

/**
 * The payload hash that goes into the canonical request: the X-Amz-Content-Sha256 header when sent (v2/v3 send it),
 * which must then match the body actually received; else SHA-256 of the body (boto3 and the CLI send no header).
 */
function payloadHash(headers: HeaderLookup, body: Buffer): string {
  const actual = body.length === 0 ? EMPTY_SHA256 : sha256Once('sha256', body, 'hex');
  const declared = headers.get('x-amz-content-sha256');
  if (declared === undefined) return actual;
  // The signature covers the header, not the body: a body changed in transit only shows here.
  if (declared.trim().toLowerCase() !== actual) throw errors.invalidSignature(MISMATCH);
  return declared;
}

/**
 * Smithy's SignatureV4, used to compute what the client should have sent. `signRequest` cannot be used for
 * verification: it drops any `date` header and always adds and signs `x-amz-date`, so it cannot reproduce a request
 * that signs `date` or leaves `x-amz-date` unsigned. This subclass runs the same steps signRequest runs (canonical
 * request, string to sign, derived-key HMAC) on exactly the headers the client declared, the last two synchronously.
 */
class SignatureVerifier extends SignatureV4 {
  /**
   * Signing keys by day (yyyymmdd): derived once per day rather than looked up in smithy's cache per request; the
   * promise while smithy derives it, then the key.
   */
  private readonly signingKeys = new Map<string, Uint8Array | Promise<Uint8Array>>();

  constructor(
    readonly accessKeyId: string,
    readonly secretAccessKey: string,
    readonly region: string,
    service: string,
    /** False: the caller passes the canonical path itself, already encoded twice (see PathForm). */
    readonly escapesPath: boolean,
  ) {
    super({
      credentials: { accessKeyId, secretAccessKey },
      region,
      service,
      sha256: NodeSha256,
      uriEscapePath: escapesPath,
      applyChecksum: false,
    });
  }

  /** A string when the day's signing key is at hand; a promise only while it is being derived (once a day). */
  signatureFor(
    request: SmithyRequest, signed: Set<string>, declared: string, hash: string, time: SigningTime,
  ): string | Promise<string> {
    // The signable set overrides smithy's always-unsignable list: some clients (e.g. Unity, SPEC §1) sign user-agent.
    const canonicalHeaders = getCanonicalHeaders(request, undefined, signed);
    // The canonical header list must be exactly the declared one: nothing dropped, nothing added.
    const built = Object.keys(canonicalHeaders).sort().join(';');
    if (built !== declared) throw errors.invalidSignature(MISMATCH);
    const day = time.longDate.slice(0, 8);
    const canonicalRequest = this.createCanonicalRequest(request, canonicalHeaders, hash);
    // The string to sign smithy's createStringToSign builds (algorithm, date, scope, hex SHA-256 of the canonical
    // request), hashed here in one synchronous call: smithy's goes through its asynchronous Checksum interface and
    // byte-array conversions. The official clients' signed requests in test/auth/sigv4.test.ts check the result.
    const stringToSign = `${ALGORITHM_IDENTIFIER}\n${time.longDate}\n${createScope(day, this.region, this.service)}\n${
      sha256Once('sha256', canonicalRequest, 'hex')}`;
    // What smithy's signString does after its per-request signing-key lookup: HMAC-SHA256 of the string to sign
    // under the day's signing key, which smithy derived once.
    const key = this.signingKeys.get(day);
    if (key instanceof Uint8Array) return hmacHex(key, stringToSign);
    return (key ?? this.deriveSigningKey(day)).then((derived) => hmacHex(derived, stringToSign));
  }

  /** Starts smithy's derivation of the day's signing key, which no request has asked for yet. */
  private deriveSigningKey(day: string): Promise<Uint8Array> {
    // Only today's and yesterday's keys are in use within the allowed clock skew.
    if (this.signingKeys.size >= 3) this.signingKeys.clear();
    const credentials = { accessKeyId: this.accessKeyId, secretAccessKey: this.secretAccessKey };
    const pending = getSigningKey(NodeSha256, credentials, day, this.region, this.service);
    this.signingKeys.set(day, pending);
    // Once derived, the key itself is kept, so later requests need no promise; a failed derivation is not kept.
    pending.then(
      (derived) => { if (this.signingKeys.get(day) === pending) this.signingKeys.set(day, derived); },
      () => { if (this.signingKeys.get(day) === pending) this.signingKeys.delete(day); },
    );
    return pending;
  }
}

function hmacHex(key: Uint8Array, text: string): string {
  return hmacSha256(key).update(text, 'utf8').digest('hex');
}

/**
 * smithy's canonical path (segment normalisation, then RFC 3986 escaping, done twice over) is a pure function of the
 * path, and the paths a server sees repeat (one per identity and dataset): smithy computes each once and the result
 * is remembered. The method is private in smithy's typings, hence the prototype lookup; should a smithy version not
 * have it, nothing is remembered and smithy's own code runs as before.
 */
const MAX_CANONICAL_PATHS = 10_000;
const smithyCanonicalPath = (SignatureV4.prototype as unknown as { getCanonicalPath?: unknown }).getCanonicalPath;
if (typeof smithyCanonicalPath === 'function') {
  const canonicalPaths = new Map<string, string>();
  Object.defineProperty(SignatureVerifier.prototype, 'getCanonicalPath', {
    value(this: SignatureVerifier, request: { path: string }): string {
      // Only the escaping form is remembered: a path given in the other form is already its canonical URI, and could
      // equal another request's path as sent.
      if (!this.escapesPath) return String(smithyCanonicalPath.call(this, request));
      let canonical = canonicalPaths.get(request.path);
      if (canonical === undefined) {
        canonical = String(smithyCanonicalPath.call(this, request));
        if (canonicalPaths.size >= MAX_CANONICAL_PATHS) canonicalPaths.clear();
        canonicalPaths.set(request.path, canonical);
      }
      return canonical;
    },
  });
}

/**
 * One verifier per credential, reused across requests, so its signing key is derived once a day. Looked up by
 * service and access key; the region and the secret are compared on every use. It holds only facts that never change
 * for a key pair (the derived signing keys): whether the credential is still valid is resolved on every request,
 * before this.
 */
const MAX_VERIFIERS = 10_000;
/** By path form, then service (a handful), then access key: no key string is built per request. */
const verifiers: Record<PathForm, Map<string, Map<string, SignatureVerifier>>> = {
  normalized: new Map(),
  'as-sent': new Map(),
};

function verifierFor(
  accessKeyId: string, secretAccessKey: string, region: string, service: string, form: PathForm,
): SignatureVerifier {
  let byKey = verifiers[form].get(service);
  if (byKey === undefined) verifiers[form].set(service, (byKey = new Map()));
  let verifier = byKey.get(accessKeyId);
  if (verifier === undefined || verifier.secretAccessKey !== secretAccessKey || verifier.region !== region) {
    // Oldest first: a Map iterates in insertion order.
    if (byKey.size >= MAX_VERIFIERS) byKey.delete(byKey.keys().next().value!);
    verifier = new SignatureVerifier(accessKeyId, secretAccessKey, region, service, form === 'normalized');
    byKey.set(accessKeyId, verifier);
  }
  return verifier;
}

/**
 * How the canonical URI is formed from the path as sent (WIRE §1.3: encoded once more).
 * - `normalized`: as smithy, the AWS SDK for JavaScript v3 and botocore sign it: `.` and `..` segments resolved and
 *   empty segments dropped first.
 * - `as-sent`: as the AWS SDK for JavaScript v2 signs it: every segment kept. The two differ only for a path with such
 *   segments, e.g. a dataset named `.` or `..` (the model allows both) or an empty label.
 */
export type PathForm = 'normalized' | 'as-sent';

/** True when the two path forms differ for this path (as sent, still percent-encoded). */
export function hasRemovableSegments(rawPath: string): boolean {
  return rawPath !== '/' && /\/\.{0,2}(?=\/|$)/.test(rawPath);
}

/**
 * The path handed to smithy. Normalized: the path as sent, which smithy resolves and encodes once more. As sent: the
 * canonical URI itself, each segment encoded once more here (RFC 3986, `!'()*` too, as smithy's escapeUri does).
 */
function pathForSmithy(rawPath: string, form: PathForm): string {
  if (form === 'normalized') return rawPath === '' ? '/' : rawPath;
  const escape = (segment: string) =>
    encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return rawPath.split('/').map(escape).join('/');
}

export function expectedSignature(
  req: SignedRequest,
  headers: HeaderLookup,
  auth: ParsedAuthorization,
  time: SigningTime,
  secretAccessKey: string,
  form: PathForm = 'normalized',
): string | Promise<string> {
  const hash = payloadHash(headers, req.body);
  const names = auth.signedHeaders.split(';');
  const signed = new Set(names);
  if (signed.size !== names.length) throw errors.invalidSignature(MISMATCH);
  // Only the declared headers go in; one that was declared but not sent is then missing from the built list.
  const signedHeaders: Record<string, string> = {};
  for (const name of names) {
    const value = headers.get(name);
    if (value !== undefined) setOwn(signedHeaders, name, value);
  }
  const request: SmithyRequest = {
    method: req.method,
    protocol: 'https:',
    hostname: 'localhost',
    // The double-encoded canonical URI every client signs (WIRE §1.3), in the client's form.
    path: pathForSmithy(req.rawPath, form),
    query: parseQuery(req.rawQuery),
    headers: signedHeaders,
  };
  const verifier = verifierFor(auth.accessKeyId, secretAccessKey, auth.scopeRegion, auth.scopeService, form);
  return verifier.signatureFor(request, signed, auth.signedHeaders, hash, time);
}
