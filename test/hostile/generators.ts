/**
 * fast-check arbitraries for hostile requests, derived from the service models so every route is covered: the 17
 * Cognito Sync restJson1 routes and every Cognito Identity `POST /` + X-Amz-Target operation. Inputs start from
 * what the model allows and are bent out of shape: wrong types, hostile strings in every string field, huge and
 * deeply nested JSON, invalid UTF-8, bad percent-encoding in path labels and query, oversized headers and bodies.
 *
 * Identifiers are placeholders ($POOL, $IDENTITY, $DATASET, $TOKEN) resolved when the request is sent, so one
 * generated request can be aimed at the fuzzer's own identity or, signed with the wrong credentials or altered
 * after signing, at the victim's.
 */
import fc from 'fast-check';
import { cognitoSyncModel } from '../../src/api/model/cognito-sync-model.js';
import { cognitoIdentityModel } from '../../src/api/model/cognito-identity-model.js';
import type { ServiceModel } from '../../src/api/model/types.js';

export interface Route {
  readonly service: 'cognito-sync' | 'cognito-identity';
  readonly name: string;
  readonly method: string;
  /** restJson1 URI template; '/' for Cognito Identity. */
  readonly uri: string;
  readonly inputShape: string | null;
  /** Unsigned Cognito Identity operations (the model's authtype none). */
  readonly public: boolean;
  readonly model: ServiceModel;
}

/** Every operation of both models, so a route added to a model is fuzzed without touching this file. */
export const ROUTES: readonly Route[] = [
  ...Object.entries(cognitoSyncModel.operations).map(([name, op]) => ({
    service: 'cognito-sync' as const, name, method: op.http.method, uri: op.http.uri, inputShape: op.input,
    public: false, model: cognitoSyncModel as ServiceModel,
  })),
  ...Object.entries(cognitoIdentityModel.operations).map(([name, op]) => ({
    service: 'cognito-identity' as const, name, method: 'POST', uri: '/', inputShape: op.input,
    public: (op as { authtype?: string }).authtype === 'none', model: cognitoIdentityModel as ServiceModel,
  })),
];

/** Strings that have broken servers before: injection, traversal, NUL, encodings, confusable and invisible text. */
export const HOSTILE_STRINGS: readonly string[] = [
  "'; DROP TABLE records; --", "' OR '1'='1", '" OR 1=1 --', '../../../../etc/passwd', '..', '../$DATASET', '..%2F..%2F',
  '%2F', '%252F', '/', '\\', '\u0000', 'a\u0000b', '$DATASET\u0000', '%00', '\uFEFF', '\u202E', '\uD800', '\uDFFF',
  '😀𝕏', 'Ω≈ç√∫', 'ﬁ', 'İ', '\r\nX-Injected: 1', '${jndi:ldap://x/a}', '<script>alert(1)</script>', '%', '%zz',
  '%C3', '+', ' ', '', 'null', '__proto__', 'constructor', '{}', '[]', '*', '?', '#', ':', 'us-east-1:',
  'us-east-1:00000000-0000-0000-0000-000000000000', '$POOL/../$POOL', '$IDENTITY%00', '$POOL ', ' $IDENTITY',
  '$IDENTITY/..', '$DATASET/../other', 'A'.repeat(129), 'A'.repeat(3000),
];

const hostileString = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 70_000 }).map((n) => 'x'.repeat(n)) },
);

const wrongType: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.string({ maxLength: 8 }),
  fc.constant([]), fc.constant({}), fc.array(fc.integer(), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 2 }),
);

const numbers = fc.oneof(
  fc.integer({ min: 0, max: 5 }), fc.integer(),
  fc.constantFrom(-1, 2 ** 31, 2 ** 53, -(2 ** 63), 1e308, 1.5, -0, 4e-324),
);

/** Plausible values by member name, so generated requests often reach past validation into the operation. */
function plausibleString(member: string): fc.Arbitrary<string> {
  switch (member) {
    case 'IdentityPoolId': return fc.constant('$POOL');
    case 'IdentityId': return fc.constant('$IDENTITY');
    case 'DatasetName': return fc.constantFrom('$DATASET', 'fuzz_data', 'fuzz.other-1');
    case 'SyncSessionToken': return fc.constant('$TOKEN');
    case 'Key': return fc.constantFrom('k1', 'k2', 'fuzzkey');
    case 'Op': return fc.constantFrom('replace', 'remove');
    case 'IdentityPoolName': return fc.constantFrom('fuzz_pool', 'other_pool');
    case 'DeveloperProviderName': return fc.constantFrom('login.fuzz', 'dev.example');
    case 'Platform': return fc.constantFrom('GCM', 'APNS', 'ADM', 'APNS_SANDBOX');
    case 'ResourceArn': return fc.constant('arn:aws:cognito-identity:us-east-1:123456789012:identitypool/$POOL');
    default: return fc.string({ minLength: 1, maxLength: 12 }).map((s) => s.replace(/[^\w.-]/g, 'a') || 'a');
  }
}

type Shapes = ServiceModel['shapes'];

/** A value for `shape`: plausible most of the time, hostile or of the wrong type otherwise. */
function valueFor(shapes: Shapes, shapeName: string, member: string, depth: number, tame: boolean): fc.Arbitrary<unknown> {
  const shape = shapes[shapeName];
  if (!shape || depth > 4) return wrongType;
  let plausible: fc.Arbitrary<unknown>;
  switch (shape.type) {
    case 'string':
      plausible = shape.enum ? fc.constantFrom(...shape.enum) : plausibleString(member);
      break;
    case 'integer': case 'long':
      plausible = member === 'SyncCount' ? fc.integer({ min: 0, max: 3 }) : fc.integer({ min: 0, max: 60 });
      break;
    case 'boolean': plausible = fc.boolean(); break;
    case 'timestamp': plausible = fc.oneof(fc.integer({ min: 0, max: 2_000_000_000 }), fc.constant(1767225600.5)); break;
    case 'list':
      plausible = fc.array(valueFor(shapes, shape.member ?? '', member, depth + 1, tame), { maxLength: 4 });
      break;
    case 'map':
      plausible = fc.dictionary(
        tame ? plausibleString(member) : fc.oneof(plausibleString(member), hostileString),
        valueFor(shapes, shape.value ?? '', member, depth + 1, tame), { maxKeys: 3 },
      );
      break;
    case 'structure':
      plausible = structureFor(shapes, shapeName, depth + 1, tame);
      break;
    default:
      plausible = wrongType;
  }
  if (tame) return plausible;
  const hostile = shape.type === 'string' ? hostileString : shape.type === 'integer' || shape.type === 'long' ? numbers : wrongType;
  return fc.oneof({ weight: 7, arbitrary: plausible }, { weight: 2, arbitrary: hostile }, { weight: 1, arbitrary: wrongType });
}

/** A structure's members (location-bound ones included), each present or left out, plus the odd unknown key. */
function structureFor(shapes: Shapes, shapeName: string, depth: number, tame: boolean): fc.Arbitrary<Record<string, unknown>> {
  const members = shapes[shapeName]?.members ?? {};
  const required = new Set(shapes[shapeName]?.required ?? []);
  const entries = Object.entries(members).map(([name, m]) => {
    const value = valueFor(shapes, m.shape, name, depth, tame);
    // Required members are usually there, so validation gets past them to the next check.
    return fc.option(value, { freq: required.has(name) ? 12 : 2, nil: undefined }).map((v) => [name, v] as const);
  });
  const extra = fc.option(fc.tuple(fc.constantFrom('__proto__', 'constructor', 'prototype', 'Unknown', ''), wrongType), { freq: tame ? 1000 : 8, nil: undefined });
  return fc.tuple(fc.tuple(...entries), extra).map(([pairs, more]) => {
    const out: Record<string, unknown> = {};
    for (const [name, v] of pairs) if (v !== undefined) out[name] = v;
    if (more) Object.defineProperty(out, more[0], { value: more[1], enumerable: true, configurable: true, writable: true });
    return out;
  });
}

/** How path labels are put on the wire. */
export type LabelEncoding = 'rfc3986' | 'raw' | 'badPercent' | 'doubleEncoded';
/** What happens to the JSON body text. */
export type BodyMode =
  | { kind: 'json' } | { kind: 'truncated'; at: number } | { kind: 'invalidUtf8'; at: number; bytes: readonly number[] }
  | { kind: 'deep'; depth: number; open: '[' | '{"a":' } | { kind: 'huge'; size: number } | { kind: 'notObject'; text: string }
  | { kind: 'duplicateKeys' } | { kind: 'empty' } | { kind: 'repeatLists'; times: number };

/**
 * Who signs the request, and where it is aimed:
 * - developer: signed with the developer key, aimed at the fuzzer's own pool and identity (may succeed);
 * - identityOwn: signed with identity A's credentials, aimed at A (may succeed);
 * - identityVictim: signed with A's credentials, aimed at the victim B (must never succeed, unless public);
 * - unsigned: no signature, aimed at B (only public operations may succeed);
 * - garbageAuth: a hostile Authorization header, aimed at B;
 * - mutated: signed with the developer key for B, then altered before sending (must never succeed);
 * - transplanted: signed for A's or the fuzzer's own request, then sent with B's identifiers (must never succeed).
 */
export type AuthMode = 'developer' | 'identityOwn' | 'identityVictim' | 'unsigned' | 'garbageAuth' | 'mutated' | 'transplanted';

export type Mutation =
  | 'signatureChar' | 'dateShift' | 'queryAdded' | 'bodyByte' | 'method' | 'scopeRegion' | 'scopeService'
  | 'signedHeadersDropped' | 'contentSha256' | 'pathChar' | 'hostChanged' | 'accessKey';

/** Odd request lines: other methods, unusual path shapes, a query of thousands of parameters. */
export type Variant =
  | 'none' | 'trailingSlash' | 'doubleSlash' | 'dotSegment' | 'absoluteForm' | 'manyParams' | 'duplicateParams'
  | 'HEAD' | 'OPTIONS' | 'PATCH' | 'PUT' | 'TRACE' | 'BREW';

export interface HostileRequestSpec {
  readonly route: Route;
  readonly variant: Variant;
  readonly input: Record<string, unknown>;
  readonly labelEncoding: LabelEncoding;
  readonly badPercent: string;
  readonly body: BodyMode;
  readonly extraHeaders: ReadonlyArray<readonly [string, string]>;
  readonly extraQuery: string;
  readonly target: 'right' | 'unknown' | 'missing' | 'otherService';
  readonly auth: AuthMode;
  readonly mutation: Mutation;
  readonly transplantFrom: 'developer' | 'identity';
  readonly garbageAuthorization: string;
}

const bodyMode: fc.Arbitrary<BodyMode> = fc.oneof(
  { weight: 14, arbitrary: fc.constant({ kind: 'json' as const }) },
  { weight: 1, arbitrary: fc.nat(200).map((at) => ({ kind: 'truncated' as const, at })) },
  { weight: 1, arbitrary: fc.tuple(fc.nat(200), fc.constantFrom([0xff], [0xfe, 0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82], [0x80], [0x00]))
    .map(([at, bytes]) => ({ kind: 'invalidUtf8' as const, at, bytes })) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(10, 1000, 20_000, 200_000), fc.constantFrom('[' as const, '{"a":' as const))
    .map(([depth, open]) => ({ kind: 'deep' as const, depth, open })) },
  { weight: 1, arbitrary: fc.constantFrom(60_000, 70_000, 300_000).map((size) => ({ kind: 'huge' as const, size })) },
  { weight: 1, arbitrary: fc.constantFrom('[]', '"x"', '1', 'null', 'true', '{"a":1}garbage', '\uFEFF{}', '{"__proto__":{"x":1}}')
    .map((text) => ({ kind: 'notObject' as const, text })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'duplicateKeys' as const }) },
  { weight: 1, arbitrary: fc.constantFrom(100, 1000, 5000).map((times) => ({ kind: 'repeatLists' as const, times })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'empty' as const }) },
);

const extraHeader: fc.Arbitrary<readonly [string, string]> = fc.oneof(
  fc.constantFrom<readonly [string, string]>(
    ['Content-Type', 'text/plain'], ['Content-Type', 'application/x-www-form-urlencoded'], ['Content-Type', ''],
    ['Content-Encoding', 'gzip'], ['Expect', '100-continue'], ['X-Amz-Client-Context', '%%%'],
    ['X-Amz-Client-Context', 'eyJjbGllbnQiOnt9fQ=='], ['X-Forwarded-For', '127.0.0.1'],
    ['Transfer-Encoding', 'chunked'], ['Content-Length', '0'], ['Content-Length', '-1'], ['Content-Length', 'abc'],
    ['Host', ''], ['X-Null', 'a\u0000b'], ['X-Amz-Security-Token', 'not-a-token'], ['X-Amz-Date', '20200101T000000Z'],
  ),
  fc.integer({ min: 8_000, max: 40_000 }).map((n) => ['X-Big', 'b'.repeat(n)] as const),
  fc.tuple(fc.constantFrom('X-Fuzz', 'x-amz-target', 'authorization', 'X-Amz-Content-Sha256'), hostileString)
    .map(([n, v]) => [n, v.replace(/[\r\n]/g, ' ')] as const),
);

const extraQuery = fc.oneof(
  { weight: 10, arbitrary: fc.constant('') },
  { weight: 1, arbitrary: fc.constantFrom('maxResults=%zz', 'nextToken=%', 'lastSyncCount=1e400', 'X-Amz-Signature=abc',
    'X-Amz-Credential=a%2Fb', 'a=%E0%A4%A', 'maxResults=-1', 'maxResults=99999999999999999999', '&&&=&', 'lastSyncCount=%00',
    `a=${'q'.repeat(9000)}`, 'nextToken=..%2F..%2F', 'syncSessionToken=%27%3B%20DROP%20TABLE%20x') },
);

/** Long strings shortened, so a counterexample stays readable. */
function compact(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'string' && v.length > 80 ? `${v.slice(0, 40)}…(${v.length} chars)` : v));
}

/**
 * Three requests in ten are tame (plausible values, well-formed wire, credentials that may succeed), so the fuzzer
 * also drives the operations themselves with odd but valid input; the rest are hostile in any of the ways above.
 */
export function hostileRequest(): fc.Arbitrary<HostileRequestSpec> {
  return fc.oneof({ weight: 3, arbitrary: requestSpec(true) }, { weight: 7, arbitrary: requestSpec(false) });
}

const TAME = {
  variant: fc.constant('none' as const),
  labelEncoding: fc.constant('rfc3986' as const), body: fc.constant({ kind: 'json' as const }), extraHeaders: fc.constant([]),
  extraQuery: fc.constant(''), target: fc.constant('right' as const), auth: fc.constantFrom<AuthMode>('developer', 'developer', 'identityOwn'),
};

function requestSpec(tame: boolean): fc.Arbitrary<HostileRequestSpec> {
  return fc.constantFrom(...ROUTES).chain((route) => fc.record({
    route: fc.constant(route),
    variant: fc.oneof({ weight: 20, arbitrary: fc.constant<Variant>('none') }, { weight: 3, arbitrary: fc.constantFrom<Variant>(
      'trailingSlash', 'doubleSlash', 'dotSegment', 'absoluteForm', 'manyParams', 'duplicateParams',
      'HEAD', 'OPTIONS', 'PATCH', 'PUT', 'TRACE', 'BREW') }),
    input: route.inputShape ? structureFor(route.model.shapes, route.inputShape, 0, tame) : fc.constant({}),
    labelEncoding: fc.constantFrom<LabelEncoding>('rfc3986', 'rfc3986', 'rfc3986', 'rfc3986', 'rfc3986', 'raw', 'badPercent', 'doubleEncoded'),
    badPercent: fc.constantFrom('%', '%zz', '%C3%28', '%ff', '%00', '%2F', '%2e%2e', '%E0%A4%A', '%u0041'),
    body: bodyMode,
    extraHeaders: fc.oneof({ weight: 6, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.array(extraHeader, { minLength: 1, maxLength: 2 }) }),
    extraQuery,
    target: fc.constantFrom<HostileRequestSpec['target']>('right', 'right', 'right', 'right', 'right', 'right', 'right', 'unknown', 'missing', 'otherService'),
    auth: fc.constantFrom<AuthMode>(
      'developer', 'developer', 'developer', 'developer', 'developer', 'developer', 'developer', 'developer',
      'identityOwn', 'identityOwn', 'identityVictim', 'identityVictim', 'unsigned', 'garbageAuth', 'mutated', 'mutated', 'transplanted', 'transplanted',
    ),
    mutation: fc.constantFrom<Mutation>('signatureChar', 'dateShift', 'queryAdded', 'bodyByte', 'method', 'scopeRegion', 'scopeService',
      'signedHeadersDropped', 'contentSha256', 'pathChar', 'hostChanged', 'accessKey'),
    transplantFrom: fc.constantFrom('developer' as const, 'identity' as const),
    garbageAuthorization: fc.oneof(hostileString, fc.constant('AWS4-HMAC-SHA256 Credential=AKIA/20200101/us-east-1/cognito-sync/aws4_request, SignedHeaders=host, Signature=00')),
    ...(tame ? TAME : {}),
  }).map((spec) => Object.assign(spec, {
    [fc.toStringMethod]: () => compact({ ...spec, route: spec.route.name }),
  })));
}
