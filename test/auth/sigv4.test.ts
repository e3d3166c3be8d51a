import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import { ServiceError } from '../../src/api/errors.js';
import type { Principal } from '../../src/auth/principal.js';
import {
  hasSignature,
  verifySigV4,
  type CredentialResolver,
  type SignedRequest,
  type VerifyOptions,
} from '../../src/auth/sigv4.js';

/** Requests signed by the official clients (copied from the shared recording; see its "about"). */
interface Fixture {
  credentials: Record<string, { secretAccessKey: string; sessionToken?: string }>;
  requests: FixtureRequest[];
}
interface FixtureRequest {
  client: string;
  op: string;
  label: string | null;
  signed: boolean;
  method: string;
  url: string;
  headers: Array<[string, string]>;
  body: string;
}

const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/signed-requests.json', import.meta.url), 'utf8'),
) as Fixture;
const signedRequests = fixture.requests.filter((r) => r.signed);

const MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key ' +
  'and signing method. Consult the service documentation for details.';

const principals: Record<string, Principal> = {
  ASIACAPTURETEMPKEY01: {
    kind: 'identity',
    accessKeyId: 'ASIACAPTURETEMPKEY01',
    identityId: 'us-east-1:00000000-1111-2222-3333-444444444444',
    identityPoolId: 'us-east-1:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee',
    accountId: '123456789012',
  },
  AKIACAPTUREADMINKEY1: { kind: 'developer', accessKeyId: 'AKIACAPTUREADMINKEY1', accountId: '123456789012' },
};

/** Knows the fixture's keys; records the session token it was given so tests can check it. */
function fixtureResolver(seen: Array<string | undefined> = []): CredentialResolver {
  return (accessKeyId, sessionToken) => {
    seen.push(sessionToken);
    const creds = fixture.credentials[accessKeyId];
    const principal = principals[accessKeyId];
    return creds && principal ? { secretAccessKey: creds.secretAccessKey, principal } : undefined;
  };
}

/** Node's IncomingMessage view of a recorded request: lower-case names, repeated names joined with ', '. */
function toSignedRequest(r: FixtureRequest): SignedRequest {
  const q = r.url.indexOf('?');
  const headers: Record<string, string> = {};
  for (const [name, value] of r.headers) {
    const key = name.toLowerCase();
    headers[key] = headers[key] === undefined ? value : `${headers[key]}, ${value}`;
  }
  return {
    method: r.method,
    rawPath: q === -1 ? r.url : r.url.slice(0, q),
    rawQuery: q === -1 ? '' : r.url.slice(q + 1),
    headers,
    body: Buffer.from(r.body, 'utf8'),
  };
}

const header = (req: SignedRequest, name: string): string => {
  const value = req.headers[name];
  if (typeof value !== 'string') throw new Error(`fixture request lacks ${name}`);
  return value;
};
const scopeService = (req: SignedRequest): string => /\/([a-z-]+)\/aws4_request/.exec(header(req, 'authorization'))![1]!;
const signedHeaderNames = (req: SignedRequest): string[] =>
  /SignedHeaders=([^,\s]+)/.exec(header(req, 'authorization'))![1]!.split(';');
const amzDate = (req: SignedRequest): Date => {
  const m = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/.exec(header(req, 'x-amz-date'))!;
  return new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
};
const withHeaders = (req: SignedRequest, changes: Record<string, string | undefined>): SignedRequest => ({
  ...req,
  headers: { ...req.headers, ...changes },
});
const changeLastChar = (text: string): string => `${text.slice(0, -1)}${text.endsWith('a') ? 'b' : 'a'}`;

function options(req: SignedRequest, overrides: Partial<VerifyOptions> = {}): VerifyOptions {
  return { service: scopeService(req), region: 'us-east-1', now: amzDate(req), resolve: fixtureResolver(), ...overrides };
}

async function rejection(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ServiceError) return err;
    throw err;
  }
  throw new Error('the verifier accepted the request');
}

async function expectRejected(promise: Promise<unknown>, code: string, message: string | RegExp): Promise<void> {
  const err = await rejection(promise);
  expect(err.code).toBe(code);
  if (typeof message === 'string') expect(err.message).toBe(message);
  else expect(err.message).toMatch(message);
  expect(err.statusFor('restJson1')).toBe(err.code === 'InternalErrorException' ? 500 : 403);
}

const mismatch = (promise: Promise<unknown>) => expectRejected(promise, 'InvalidSignatureException', MISMATCH);

describe('requests signed by the official clients', () => {
  it('the fixture has signed requests of every client', () => {
    expect(new Set(signedRequests.map((r) => r.client))).toEqual(new Set(['v3', 'v2', 'boto3', 'cli']));
  });

  describe.each(signedRequests.map((r) => [`${r.client} ${r.op} (${r.label ?? 'no label'})`, r] as const))('%s', (_, recorded) => {
    const req = toSignedRequest(recorded);
    const accessKeyId = /Credential=([^/]+)\//.exec(header(req, 'authorization'))![1]!;

    it('is accepted and resolves to the principal of its key, with its session token', async () => {
      const seen: Array<string | undefined> = [];
      await expect(verifySigV4(req, options(req, { resolve: fixtureResolver(seen) }))).resolves.toEqual(principals[accessKeyId]);
      expect(seen).toEqual([fixture.credentials[accessKeyId]?.sessionToken]);
    });

    it('is accepted up to 15 minutes either side of its date, and with an unsigned header changed or added', async () => {
      const at = amzDate(req).getTime();
      await verifySigV4(req, options(req, { now: new Date(at + 15 * 60_000) }));
      await verifySigV4(req, options(req, { now: new Date(at - 15 * 60_000) }));
      await verifySigV4(withHeaders(req, { 'user-agent': 'changed', 'x-forwarded-for': '10.0.0.1' }), options(req));
    });

    it('is rejected with its method changed', async () => {
      await mismatch(verifySigV4({ ...req, method: req.method === 'GET' ? 'POST' : 'GET' }, options(req)));
    });

    it('is rejected with one character of its path changed', async () => {
      const changed = req.rawPath === '/' ? '/a' : changeLastChar(req.rawPath);
      await mismatch(verifySigV4({ ...req, rawPath: changed }, options(req)));
      // Decoding the path before verifying would break every signature: the client signed it as sent.
      if (req.rawPath.includes('%')) {
        await mismatch(verifySigV4({ ...req, rawPath: decodeURIComponent(req.rawPath) }, options(req)));
      }
    });

    it('is rejected with its query changed or a parameter added', async () => {
      if (req.rawQuery !== '') {
        await mismatch(verifySigV4({ ...req, rawQuery: changeLastChar(req.rawQuery) }, options(req)));
      }
      const added = req.rawQuery === '' ? 'maxResults=1' : `${req.rawQuery}&extra=1`;
      await mismatch(verifySigV4({ ...req, rawQuery: added }, options(req)));
    });

    it('is rejected with the value of any signed header changed', async () => {
      for (const name of signedHeaderNames(req)) {
        if (name === 'x-amz-date') continue; // the date has its own checks below
        await mismatch(verifySigV4(withHeaders(req, { [name]: `${header(req, name)}x` }), options(req)));
      }
      const oneSecondLater = new Date(amzDate(req).getTime() + 1000).toISOString().replace(/[-:]|\.\d{3}/g, '');
      await mismatch(verifySigV4(withHeaders(req, { 'x-amz-date': oneSecondLater }), options(req)));
    });

    it('is rejected with its body changed', async () => {
      const body = req.body.length > 0 ? Buffer.from(changeLastChar(req.body.toString('utf8').trimEnd())) : Buffer.from('{}');
      await mismatch(verifySigV4({ ...req, body }, options(req)));
    });

    it('is rejected 16 minutes after its date and 16 minutes before it', async () => {
      const at = amzDate(req).getTime();
      const date = header(req, 'x-amz-date');
      const fmt = (ms: number) => new Date(ms).toISOString().replace(/[-:]|\.\d{3}/g, '');
      const late = at + 16 * 60_000;
      await expectRejected(verifySigV4(req, options(req, { now: new Date(late) })), 'InvalidSignatureException',
        `Signature expired: ${date} is now earlier than ${fmt(late - 15 * 60_000)} (${fmt(late)} - 15 min.)`);
      const early = at - 16 * 60_000;
      await expectRejected(verifySigV4(req, options(req, { now: new Date(early) })), 'InvalidSignatureException',
        `Signature not yet current: ${date} is still later than ${fmt(early + 15 * 60_000)} (${fmt(early)} + 15 min.)`);
    });

    it('is accepted exactly 15 minutes either side of its date, to the second, and refused one second further', async () => {
      const at = amzDate(req).getTime();
      // A server clock with milliseconds: the signing date has none, so the window is counted in whole seconds.
      for (const now of [at + 15 * 60_000 + 999, at - 15 * 60_000, at - 15 * 60_000 + 500]) {
        await verifySigV4(req, options(req, { now: new Date(now) }));
      }
      await expectRejected(verifySigV4(req, options(req, { now: new Date(at + 15 * 60_000 + 1000) })),
        'InvalidSignatureException', /^Signature expired: /);
      await expectRejected(verifySigV4(req, options(req, { now: new Date(at - 15 * 60_000 - 1000) })),
        'InvalidSignatureException', /^Signature not yet current: /);
    });

    it('is rejected when its access key is unknown', async () => {
      const unknown = header(req, 'authorization').replace(accessKeyId, 'AKIAUNKNOWNKEY000000');
      await expectRejected(verifySigV4(withHeaders(req, { authorization: unknown }), options(req)),
        'UnrecognizedClientException', 'The security token included in the request is invalid.');
      await expectRejected(verifySigV4(req, options(req, { resolve: () => undefined })),
        'UnrecognizedClientException', 'The security token included in the request is invalid.');
    });
  });

  it('rejects a changed body even though x-amz-content-sha256 (and so the signature) still matches the header', async () => {
    const recorded = signedRequests.find((r) => r.client === 'v3' && r.op === 'UpdateRecords')!;
    const req = toSignedRequest(recorded);
    expect(req.headers['x-amz-content-sha256']).toBe(createHash('sha256').update(req.body).digest('hex'));
    await mismatch(verifySigV4({ ...req, body: Buffer.from(req.body.toString().replace('"v1', '"v2')) }, options(req)));
  });
});

/** A recorded boto3 ListRecords (temporary credentials), the base of the malformed-header cases. */
const base = toSignedRequest(signedRequests.find((r) => r.client === 'boto3' && r.op === 'ListRecords')!);
const baseAuth = header(base, 'authorization');
const withAuth = (authorization: string) => withHeaders(base, { authorization });
const incomplete = (req: SignedRequest, message: string | RegExp, opts = options(base)) =>
  expectRejected(verifySigV4(req, opts), 'IncompleteSignatureException', message);
const invalid = (req: SignedRequest, message: string, opts = options(base)) =>
  expectRejected(verifySigV4(req, opts), 'InvalidSignatureException', message);

describe('malformed or misdirected signatures', () => {
  it('hasSignature is true exactly when an Authorization header is present', () => {
    expect(hasSignature(base.headers)).toBe(true);
    expect(hasSignature({ ...base.headers, authorization: undefined })).toBe(false);
    expect(hasSignature({ Authorization: 'x' })).toBe(true);
  });

  it('answers MissingAuthenticationToken without an Authorization header', async () => {
    await expectRejected(verifySigV4(withHeaders(base, { authorization: undefined }), options(base)),
      'MissingAuthenticationTokenException', 'Request is missing Authentication Token');
  });

  it('names each missing Authorization parameter and echoes the header', async () => {
    const noSignature = baseAuth.replace(/, Signature=[0-9a-f]+/, '');
    await incomplete(withAuth(noSignature), `Authorization header requires 'Signature' parameter. Authorization=${noSignature}`);
    const noCredential = baseAuth.replace(/Credential=[^,]+, /, '');
    await incomplete(withAuth(noCredential), `Authorization header requires 'Credential' parameter. Authorization=${noCredential}`);
    const noSignedHeaders = baseAuth.replace(/SignedHeaders=[^,]+, /, '');
    await incomplete(withAuth(noSignedHeaders),
      `Authorization header requires 'SignedHeaders' parameter. Authorization=${noSignedHeaders}`);
    await incomplete(withAuth('AWS4-HMAC-SHA256 '), "Authorization header requires 'Credential' parameter. " +
      "Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. " +
      'Authorization=AWS4-HMAC-SHA256 ');
  });

  it('requires X-Amz-Date or Date', async () => {
    await incomplete(withHeaders(base, { 'x-amz-date': undefined }),
      `Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=${baseAuth}`);
    await incomplete(withHeaders(base, { 'x-amz-date': '2026-11-27T07:39:28Z' }),
      "Date must be in ISO-8601 'basic format'. Got '2026-11-27T07:39:28Z'. See http://en.wikipedia.org/wiki/ISO_8601");
    await incomplete(withHeaders(base, { 'x-amz-date': '20261327T073928Z' }), /^Date must be in ISO-8601 'basic format'/);
  });

  it('rejects other algorithms and badly shaped credentials', async () => {
    await incomplete(withAuth('Bearer abc'), "Authorization header requires 'AWS4-HMAC-SHA256' as its algorithm, got 'Bearer'. Authorization=Bearer abc");
    await incomplete(withAuth(baseAuth.replace('AWS4-HMAC-SHA256', 'AWS4-HMAC-SHA1')), /got 'AWS4-HMAC-SHA1'/);
    const fourParts = baseAuth.replace('/aws4_request', '');
    await incomplete(withAuth(fourParts), "Credential must have exactly 5 slash-delimited elements, e.g. " +
      "keyid/date/region/service/term, got 'ASIACAPTURETEMPKEY01/20261127/us-east-1/cognito-sync'");
    await invalid(withAuth(baseAuth.replace('/aws4_request', '/aws5_request')),
      "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. ");
  });

  it('rejects presigned (query-string) authentication with a clear message', async () => {
    await incomplete({ ...base, rawQuery: `${base.rawQuery}&X-Amz-Algorithm=AWS4-HMAC-SHA256` }, /Query-string authentication/);
    await incomplete({ ...withHeaders(base, { authorization: undefined }), rawQuery: 'X-Amz-Signature=00' }, /not supported/);
  });

  it('checks the scope: service, region and date', async () => {
    await invalid(base, "Credential should be scoped to correct service: 'cognito-identity'. ", options(base, { service: 'cognito-identity' }));
    await invalid(base, 'Credential should be scoped to a valid region. ', options(base, { region: 'eu-west-1' }));
    await invalid(withAuth(baseAuth.replace('/20261127/', '/20261126/')),
      "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20261126' != " +
        `'20261127', from '${header(base, 'x-amz-date')}'.`);
  });

  it('requires host among the signed headers', async () => {
    await invalid(withAuth(baseAuth.replace('SignedHeaders=host;', 'SignedHeaders=')),
      "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  });

  it('rejects a signed-header list that is unsorted, repeated or names a header that was not sent', async () => {
    await mismatch(verifySigV4(withAuth(baseAuth.replace('host;x-amz-date', 'x-amz-date;host')), options(base)));
    await mismatch(verifySigV4(withAuth(baseAuth.replace('host;x-amz-date', 'host;host;x-amz-date')), options(base)));
    await mismatch(verifySigV4(withHeaders(base, { 'x-amz-security-token': undefined }), options(base)));
  });

  it('rejects a wrong signature of the right length and one of another length', async () => {
    const sig = /Signature=([0-9a-f]+)/.exec(baseAuth)![1]!;
    await mismatch(verifySigV4(withAuth(baseAuth.replace(sig, changeLastChar(sig))), options(base)));
    await mismatch(verifySigV4(withAuth(baseAuth.replace(sig, `${sig}00`)), options(base)));
  });

  it('honours maxSkewMs', async () => {
    const now = new Date(amzDate(base).getTime() + 6 * 60_000);
    const err = await rejection(verifySigV4(base, options(base, { now, maxSkewMs: 5 * 60_000 })));
    expect(err.message).toMatch(/^Signature expired: .* - 5 min\.\)$/);
  });
});

/**
 * An independent SigV4 signer (plain HMACs, test-side only), for shapes no recorded client produces: a signed
 * user-agent, the Date-header fallback, repeated query parameters and header values with inner spaces.
 */
interface ReferenceSigning {
  key: string;
  secret: string;
  longDate: string;
  /** Lower-case and sorted, as the client declares them. */
  signed: string[];
}

function referenceSign(req: SignedRequest, opts: ReferenceSigning): SignedRequest {
  const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
  const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
  const encode = (s: string) =>
    encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

  const path = req.rawPath.split('/').map(encode).join('/'); // the sent path, encoded once more
  const query = req.rawQuery
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => {
      // A raw `+` is a space, as the Android SDK sends one (URLEncoder) and signs it (`%20`).
      const [name = '', value = ''] = pair.replaceAll('+', ' ').split('=');
      return `${encode(decodeURIComponent(name))}=${encode(decodeURIComponent(value))}`;
    })
    .sort()
    .join('&');
  const headers = opts.signed.map((n) => `${n}:${String(req.headers[n]).trim().replace(/\s+/g, ' ')}\n`).join('');
  const canonical = [req.method, path, query, headers, opts.signed.join(';'), sha256(req.body)].join('\n');

  const day = opts.longDate.slice(0, 8);
  const scope = `${day}/us-east-1/cognito-sync/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', opts.longDate, scope, sha256(canonical)].join('\n');
  let key: Buffer | string = `AWS4${opts.secret}`;
  for (const part of [day, 'us-east-1', 'cognito-sync', 'aws4_request']) key = hmac(key, part);
  const signature = hmac(key, stringToSign).toString('hex');
  const authorization =
    `AWS4-HMAC-SHA256 Credential=${opts.key}/${scope},SignedHeaders=${opts.signed.join(';')},Signature=${signature}`;
  return withHeaders(req, { authorization });
}

describe('signing shapes beyond the recorded clients', () => {
  const key = 'AKIACAPTUREADMINKEY1';
  const secret = fixture.credentials[key]!.secretAccessKey;
  const now = new Date('2026-11-27T07:39:28Z');
  const opts: VerifyOptions = { service: 'cognito-sync', region: 'us-east-1', now, resolve: fixtureResolver() };
  const request: SignedRequest = {
    method: 'GET',
    rawPath: '/identitypools/us-east-1%3Aaaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee/identity/us-east-1%3A0/device',
    rawQuery: 'b=2&a=z&a=y&c&d=x%2By+z',
    headers: { host: 'localhost:8080', 'user-agent': 'some  agent   1.0', 'x-amz-date': '20261127T073928Z' },
    body: Buffer.alloc(0),
  };

  it('the reference signer reproduces a recorded boto3 signature (so it can be trusted below)', () => {
    const recorded = toSignedRequest(signedRequests.find((r) => r.client === 'boto3' && r.op === 'ListRecords')!);
    const temp = 'ASIACAPTURETEMPKEY01';
    const ours = referenceSign(recorded, {
      key: temp, secret: fixture.credentials[temp]!.secretAccessKey, longDate: header(recorded, 'x-amz-date'),
      signed: signedHeaderNames(recorded),
    });
    const signature = (r: SignedRequest) => /Signature=([0-9a-f]+)/.exec(header(r, 'authorization'))![1];
    expect(signature(ours)).toBe(signature(recorded));
  });

  it('accepts a signed user-agent (smithy treats it as unsignable unless told) and repeated query parameters', async () => {
    const signed = referenceSign(request, { key, secret, longDate: '20261127T073928Z', signed: ['host', 'user-agent', 'x-amz-date'] });
    await expect(verifySigV4(signed, opts)).resolves.toEqual(principals[key]);
    await mismatch(verifySigV4(withHeaders(signed, { 'user-agent': 'other' }), opts));
    await mismatch(verifySigV4({ ...signed, rawQuery: 'b=2&a=z&c&d=x%2By+z' }, opts));
  });

  it('reads a raw `+` in the query as a space, as the Android SDK sends it and signs it (`%20`)', async () => {
    const signed = referenceSign(request, { key, secret, longDate: '20261127T073928Z', signed: ['host', 'x-amz-date'] });
    await expect(verifySigV4(signed, opts)).resolves.toEqual(principals[key]);
    // The same value sent as `%20` is the same query; a plus sent as `%2B` is another.
    await expect(verifySigV4({ ...signed, rawQuery: 'b=2&a=z&a=y&c&d=x%2By%20z' }, opts)).resolves.toEqual(principals[key]);
    await mismatch(verifySigV4({ ...signed, rawQuery: 'b=2&a=z&a=y&c&d=x%2By%2Bz' }, opts));
  });

  it('accepts the Date header in place of X-Amz-Date, signed as `date`', async () => {
    const dated = withHeaders(request, { 'x-amz-date': undefined, date: 'Fri, 27 Nov 2026 07:39:28 GMT' });
    const signed = referenceSign(dated, { key, secret, longDate: '20261127T073928Z', signed: ['date', 'host'] });
    await expect(verifySigV4(signed, opts)).resolves.toEqual(principals[key]);
    await expectRejected(verifySigV4(signed, { ...opts, now: new Date(now.getTime() + 16 * 60_000) }),
      'InvalidSignatureException', /^Signature expired: 20261127T073928Z is now earlier than 20261127T074028Z/);
  });

  it('accepts X-Amz-Date sent but left out of the signed headers (the string to sign still carries it)', async () => {
    const signed = referenceSign(request, { key, secret, longDate: '20261127T073928Z', signed: ['host'] });
    await expect(verifySigV4(signed, opts)).resolves.toEqual(principals[key]);
  });

  it('verifies while a key\'s signing key is derived, once it is kept, and across days', async () => {
    // A key no other test uses, so its first request of each day derives that day's signing key.
    const fresh = 'AKIAFRESHDAYSKEY0001';
    const freshOpts = (longDate: string): VerifyOptions => ({
      ...opts,
      now: new Date(`${longDate.slice(0, 4)}-${longDate.slice(4, 6)}-${longDate.slice(6, 8)}T07:39:28Z`),
      resolve: (id) => (id === fresh ? { secretAccessKey: 'fresh-secret', principal: principals[key]! } : undefined),
    });
    const signedOn = (longDate: string, secretKey = 'fresh-secret') => referenceSign(
      withHeaders(request, { 'x-amz-date': longDate }), { key: fresh, secret: secretKey, longDate, signed: ['host', 'x-amz-date'] },
    );
    const days = ['20261127T073928Z', '20261128T073928Z', '20261129T073928Z', '20261130T073928Z', '20261127T073928Z'];
    for (const longDate of days) {
      // Concurrent first requests share the derivation; the next one uses the kept key.
      const first = await Promise.all([1, 2, 3].map(() => verifySigV4(signedOn(longDate), freshOpts(longDate))));
      expect(first).toEqual([principals[key], principals[key], principals[key]]);
      await expect(verifySigV4(signedOn(longDate), freshOpts(longDate))).resolves.toEqual(principals[key]);
      await mismatch(verifySigV4(signedOn(longDate, 'another-secret'), freshOpts(longDate)));
    }
  });
});
