/**
 * A throwaway OpenID Connect issuer on loopback for tests: serves `/.well-known/openid-configuration` and
 * `/jwks.json` over plain HTTP on 127.0.0.1 (random port) and mints RS256 ID tokens with its published key.
 * It also holds an `other` key that is never published, to forge tokens, and can mint `none` / HS256 tokens
 * (HS256 keyed with the published public key's modulus: the classic algorithm-confusion attack).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { base64url, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

export type MintClaims = JWTPayload & { aud: string | string[]; sub: string };

export interface MintOptions {
  /** Lifetime from `issuedAt` (default 3600 s); the token's `exp`. */
  expiresInSeconds?: number;
  /** `iat` in epoch seconds (default: now). */
  issuedAt?: number;
  /** Header `kid` (default: the current published kid, also for `other`, which thereby impersonates it). */
  kid?: string;
  /** 'RS256' (default), 'none' or 'HS256'. */
  alg?: string;
  key?: 'default' | 'other';
}

export interface OidcIssuer {
  readonly issuer: string;
  readonly jwksUri: string;
  /** Requests served so far (any path). */
  readonly requests: number;
  /** Path of every request served, in order. */
  readonly paths: readonly string[];
  mint(claims: MintClaims, opts?: MintOptions): Promise<string>;
  /** Publishes a new signing key (kept alongside the previous one) and signs with it from now on. */
  rotate(): Promise<void>;
  close(): Promise<void>;
}

interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

let keyCounter = 0;

async function newKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = `test-key-${++keyCounter}`;
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  return { kid, privateKey, publicJwk };
}

function json(res: ServerResponse, body: unknown): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

export async function startOidcIssuer(): Promise<OidcIssuer> {
  let published: SigningKey[] = [await newKey()];
  const other = await newKey();
  const paths: string[] = [];
  let issuer = '';

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    paths.push(path);
    if (path === '/.well-known/openid-configuration') {
      json(res, {
        issuer,
        jwks_uri: `${issuer}/jwks.json`,
        id_token_signing_alg_values_supported: ['RS256'],
        subject_types_supported: ['public'],
        response_types_supported: ['id_token'],
      });
    } else if (path === '/jwks.json') {
      json(res, { keys: published.map((k) => k.publicJwk) });
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const current = (): SigningKey => published[0]!;

  async function mint(claims: MintClaims, opts: MintOptions = {}): Promise<string> {
    const iat = opts.issuedAt ?? Math.floor(Date.now() / 1000);
    const payload: JWTPayload = { iss: issuer, iat, exp: iat + (opts.expiresInSeconds ?? 3600), ...claims };
    const signer = opts.key === 'other' ? other : current();
    const kid = opts.kid ?? current().kid;
    const alg = opts.alg ?? 'RS256';
    if (alg === 'none') {
      const enc = (v: unknown): string => base64url.encode(JSON.stringify(v));
      return `${enc({ alg: 'none', typ: 'JWT', kid })}.${enc(payload)}.`;
    }
    if (alg === 'HS256') {
      const secret = new TextEncoder().encode(String(current().publicJwk.n));
      return new SignJWT(payload).setProtectedHeader({ alg, kid, typ: 'JWT' }).sign(secret);
    }
    if (alg !== 'RS256') throw new Error(`test issuer mints RS256, none or HS256, not ${alg}`);
    return new SignJWT(payload).setProtectedHeader({ alg, kid, typ: 'JWT' }).sign(signer.privateKey);
  }

  return {
    issuer,
    jwksUri: `${issuer}/jwks.json`,
    get requests() { return paths.length; },
    paths,
    mint,
    async rotate() {
      published = [await newKey(), current()];
    },
    close: () => new Promise<void>((resolve, reject) => {
      server.close((err) => (err ? reject(err) : resolve()));
      server.closeAllConnections();
    }),
  };
}
