import { errors, type ServiceError } from './errors.js';
import type { MemberModel, ServiceModel, ShapeModel } from './model/types.js';

/**
 * One interpreter over the service model's input shapes, run before any handler:
 * 1. types: each present member must have its shape's JSON type (else SerializationException naming the member);
 *    JSON `null` members are treated as absent, unknown members are ignored (as AWS does);
 * 2. constraints: required members, lengths, patterns, enums, list and map sizes, checked in model order and
 *    reported together (at most 10) in AWS's format:
 *    "1 validation error detected: Value 'x' at 'datasetName' failed to satisfy constraint: Member must …",
 *    as the error `violation` makes: InvalidParameterException for Cognito Sync, ValidationException for Cognito
 *    Identity (docs/decisions.md, "Errors and validation").
 * Operation handlers never re-check what the model states.
 */
export function validateInput(
  model: ServiceModel, shapeName: string, input: Record<string, unknown>, violation: (message: string) => ServiceError,
): void {
  const shape = model.shapes[shapeName];
  if (!shape) throw new Error(`unknown input shape ${shapeName}`);
  checkTypes(model, shape, input, '');
  const violations: string[] = [];
  checkStructure(model, shape, input, '', violations);
  if (violations.length > 0) {
    const n = violations.length;
    const head = `${n} validation error${n === 1 ? '' : 's'} detected: `;
    throw violation(head + violations.slice(0, 10).join('; '));
  }
}

/** AWS names members in validation messages in lowerCamel case: `IdentityPoolId` → `identityPoolId`. */
function memberPath(parent: string, name: string): string {
  const camel = name.charAt(0).toLowerCase() + name.slice(1);
  return parent ? `${parent}.${camel}` : camel;
}

const MAX_EPOCH_SECONDS = 8.64e12;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** A value of the model's `integer` shapes: a whole number in Java's int range, as the service's. */
export function isInt32(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= INT32_MIN && value <= INT32_MAX;
}

function jsonTypeName(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/**
 * A structure's members resolved once per shape (the model never changes): the member shape looked up, the
 * lower-camel name for messages, and whether it is required. Validation runs on every request.
 */
interface CompiledMember {
  readonly name: string;
  readonly member: MemberModel;
  readonly shape: ShapeModel;
  readonly required: boolean;
}
const compiledMembers = new WeakMap<ShapeModel, readonly CompiledMember[]>();

function membersOf(model: ServiceModel, shape: ShapeModel): readonly CompiledMember[] {
  let members = compiledMembers.get(shape);
  if (!members) {
    const required = new Set(shape.required ?? []);
    members = Object.entries(shape.members ?? {}).map(([name, member]) => ({
      name, member, shape: shapeOf(model, member.shape), required: required.has(name),
    }));
    compiledMembers.set(shape, members);
  }
  return members;
}

function checkTypes(model: ServiceModel, shape: ShapeModel, value: unknown, path: string): void {
  const fail = (expected: string) =>
    errors.serialization(`Expected ${expected} at '${path || 'body'}', got ${jsonTypeName(value)}`);
  switch (shape.type) {
    case 'structure': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw fail('an object');
      const obj = value as Record<string, unknown>;
      for (const m of membersOf(model, shape)) {
        const v = obj[m.name];
        if (v === null) delete obj[m.name];
        // A scalar of the right type needs no path: the path is built only to recurse or to report.
        else if (v !== undefined && !scalarOfType(m.shape, v)) checkTypes(model, m.shape, v, memberPath(path, m.name));
      }
      return;
    }
    case 'list': {
      if (!Array.isArray(value)) throw fail('a list');
      const item = shapeOf(model, shape.member ?? '');
      value.forEach((v, i) => {
        if (v !== null) checkTypes(model, item, v, `${path}.${i + 1}.member`);
      });
      return;
    }
    case 'map': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw fail('a map');
      const valueShape = shapeOf(model, shape.value ?? '');
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (v !== null) checkTypes(model, valueShape, v, `${path}.${k}`);
      }
      return;
    }
    case 'string':
      if (typeof value !== 'string') throw fail('a string');
      return;
    case 'boolean':
      if (typeof value !== 'boolean') throw fail('a boolean');
      return;
    case 'integer':
      if (!isInt32(value) && !(value instanceof NotAnInteger)) throw fail('an integer');
      return;
    case 'long':
      if ((typeof value !== 'number' || !Number.isSafeInteger(value)) && !(value instanceof NotAnInteger)) {
        throw fail('an integer (long)');
      }
      return;
    case 'timestamp':
      // restJson and awsJson send timestamps as epoch seconds, integer or fractional.
      // Within the range of a JavaScript Date (±8.64e12 s), so it converts to milliseconds and stores exactly.
      if (typeof value !== 'number' || !Number.isFinite(value) || Math.abs(value) > MAX_EPOCH_SECONDS) {
        throw fail('a timestamp in epoch seconds');
      }
      return;
    default:
      return;
  }
}

/**
 * An integer member sent as text (a query parameter) that is not one: it stands in the input for the validator
 * to report among the request's other violations, in one InvalidParameterException, rather than on its own.
 */
export class NotAnInteger {
  constructor(readonly text: string) {}
}

/** True for a value checkTypes would accept at a string, boolean or number shape without looking further. */
function scalarOfType(shape: ShapeModel, value: unknown): boolean {
  switch (shape.type) {
    case 'string':
      return typeof value === 'string';
    case 'boolean':
      return typeof value === 'boolean';
    case 'integer':
      return isInt32(value);
    case 'long':
      return typeof value === 'number' && Number.isSafeInteger(value);
    case 'timestamp':
      return typeof value === 'number' && Number.isFinite(value) && Math.abs(value) <= MAX_EPOCH_SECONDS;
    default:
      return false;
  }
}

function shapeOf(model: ServiceModel, name: string): ShapeModel {
  const s = model.shapes[name];
  if (!s) throw new Error(`unknown shape ${name}`);
  return s;
}

function showValue(value: unknown): string {
  if (value === undefined) return 'null';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return `'${text.length > 256 ? `${text.slice(0, 256)}...` : text}'`;
}

const patternCache = new Map<string, RegExp>();
function anchored(pattern: string): RegExp {
  let re = patternCache.get(pattern);
  if (!re) {
    // botocore patterns are unanchored; the Smithy model anchors the same patterns. AWS matches whole values.
    const body = pattern.replace(/^\^/, '').replace(/\$$/, '');
    // 'u' for the model's \p{L}-style classes; no 's': as in Java, `.` matches no line break.
    re = new RegExp(`^(?:${asJavaWhitespace(body)})$`, 'u');
    patternCache.set(pattern, re);
  }
  return re;
}

/** Java's `\s`: ASCII whitespace only (JavaScript's also takes Unicode spaces such as U+00A0). */
const JAVA_SPACE = ' \\t\\n\\x0B\\f\\r';

/**
 * The pattern with `\s` and `\S` spelled as Java reads them, AWS's validators being Java's: inside a character
 * class `\s` becomes the space characters themselves; a class of `\S` alone, or `\S` outside a class, their negation.
 */
export function asJavaWhitespace(pattern: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length) {
      const next = pattern[++i]!;
      if (next === 's') out += inClass ? JAVA_SPACE : `[${JAVA_SPACE}]`;
      else if (next === 'S' && !inClass) out += `[^${JAVA_SPACE}]`;
      else if (next === 'S' && out.endsWith('[') && pattern[i + 1] === ']') out = `${out.slice(0, -1)}[^${JAVA_SPACE}`;
      else out += c + next;
      continue;
    }
    if (c === '[' && !inClass) inClass = true;
    else if (c === ']' && inClass) inClass = false;
    out += c;
  }
  return out;
}

function checkStructure(model: ServiceModel, shape: ShapeModel, obj: Record<string, unknown>, path: string, out: string[]): void {
  for (const m of membersOf(model, shape)) {
    const v = obj[m.name];
    if (v === undefined) {
      if (m.required) out.push(`Value null at '${memberPath(path, m.name)}' failed to satisfy constraint: Member must not be null`);
      continue;
    }
    // A valid string or number needs no path: it is built only to recurse or to report.
    if (typeof v === 'string' ? m.shape.type === 'string' && validString(m.shape, v)
      : typeof v === 'number' && (m.shape.type === 'integer' || m.shape.type === 'long') && validNumber(m.shape, v)) continue;
    checkValue(model, m.member, v, memberPath(path, m.name), out);
  }
}

/**
 * False for a string holding an unpaired surrogate (JSON allows `"\ud800"`). Stored as UTF-8 it would come back as
 * U+FFFD, so a record key could never be addressed again. `isWellFormed` is ES2024, in every Node this runs on.
 */
function wellFormed(value: string): boolean {
  return (value as string & { isWellFormed(): boolean }).isWellFormed();
}

/** True when checkValue would report nothing for this string. */
function validString(shape: ShapeModel, value: string): boolean {
  return wellFormed(value) && (shape.min === undefined || value.length >= shape.min) &&
    (shape.max === undefined || value.length <= shape.max) &&
    (shape.pattern === undefined || anchored(shape.pattern).test(value)) &&
    (shape.enum === undefined || shape.enum.includes(value));
}

/** True when checkValue would report nothing for this integer or long. */
function validNumber(shape: ShapeModel, value: number): boolean {
  return (shape.min === undefined || value >= shape.min) && (shape.max === undefined || value <= shape.max);
}

/** How each constraint of a string shape is worded after "Member must", in a violation as in a map's rule list. */
const STRING_RULE = {
  wellFormed: 'be well-formed Unicode (a JSON \\u escape of half a surrogate pair is not)',
  min: (n: number) => `have length greater than or equal to ${n}`,
  max: (n: number) => `have length less than or equal to ${n}`,
  pattern: (pattern: string) => `satisfy regular expression pattern: ${pattern}`,
  enum: (values: readonly string[]) => `satisfy enum value set: [${values.join(', ')}]`,
};

function checkValue(model: ServiceModel, member: MemberModel | { shape: string }, value: unknown, path: string, out: string[]): void {
  const shape = shapeOf(model, member.shape);
  const violation = (rule: string) =>
    out.push(`Value ${showValue(value)} at '${path}' failed to satisfy constraint: Member must ${rule}`);
  if (shape.type === 'string' && typeof value === 'string') {
    if (!wellFormed(value)) violation(STRING_RULE.wellFormed);
    if (shape.min !== undefined && value.length < shape.min) violation(STRING_RULE.min(shape.min));
    if (shape.max !== undefined && value.length > shape.max) violation(STRING_RULE.max(shape.max));
    if (shape.pattern !== undefined && !anchored(shape.pattern).test(value)) violation(STRING_RULE.pattern(shape.pattern));
    if (shape.enum !== undefined && !shape.enum.includes(value)) violation(STRING_RULE.enum(shape.enum));
  } else if (value instanceof NotAnInteger) {
    out.push(`Value '${value.text.slice(0, 64)}' at '${path}' failed to satisfy constraint: Member must be an integer`);
  } else if ((shape.type === 'integer' || shape.type === 'long') && typeof value === 'number') {
    if (shape.min !== undefined && value < shape.min) violation(`have value greater than or equal to ${shape.min}`);
    if (shape.max !== undefined && value > shape.max) violation(`have value less than or equal to ${shape.max}`);
  } else if (shape.type === 'list' && Array.isArray(value)) {
    if (shape.min !== undefined && value.length < shape.min) violation(`have length greater than or equal to ${shape.min}`);
    if (shape.max !== undefined && value.length > shape.max) violation(`have length less than or equal to ${shape.max}`);
    value.forEach((item, i) => {
      // A null inside a list is no absent member: it would reach the handler as an element.
      if (item === null) out.push(`Value null at '${path}.${i + 1}.member' failed to satisfy constraint: Member must not be null`);
      else checkValue(model, { shape: shape.member ?? '' }, item, `${path}.${i + 1}.member`, out);
    });
  } else if (shape.type === 'map' && typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (shape.min !== undefined && entries.length < shape.min) violation(`have length greater than or equal to ${shape.min}`);
    if (shape.max !== undefined && entries.length > shape.max) violation(`have length less than or equal to ${shape.max}`);
    checkMapEntries(model, shape, entries, path, out);
  } else if (shape.type === 'structure' && typeof value === 'object' && value !== null) {
    checkStructure(model, shape, value as Record<string, unknown>, path, out);
  }
}

/**
 * A map's keys and values. Coral reports string keys (values) that break their shape's constraints as one violation
 * at the map, showing it as Java prints a map and listing every constraint of the key (value) shape. AWS answered an
 * empty login token, under the model of the day: `Value '{graph.facebook.com=}' at 'logins' failed to satisfy
 * constraint: Map value must satisfy constraint: [Member must have length less than or equal to 2048, Member must
 * have length greater than or equal to 1, Member must satisfy regular expression pattern: [\S]+]`. Structure values
 * are checked member by member.
 */
function checkMapEntries(
  model: ServiceModel, shape: ShapeModel, entries: Array<[string, unknown]>, path: string, out: string[],
): void {
  const keyShape = shapeOf(model, shape.key ?? '');
  const valueShape = shapeOf(model, shape.value ?? '');
  const mapViolation = (what: string, rules: readonly string[]) => out.push(
    `Value ${showMap(entries)} at '${path}' failed to satisfy constraint: ${what} must satisfy constraint: [${rules.join(', ')}]`);
  const badKeys = entries.filter(([k]) => !validString(keyShape, k)).map(([k]) => k);
  if (badKeys.length > 0) mapViolation('Map keys', stringRules(keyShape, badKeys));
  const stringValues = valueShape.type === 'string';
  const badValues: string[] = [];
  for (const [k, v] of entries) {
    if (v === null) out.push(`Value null at '${path}.${k}.value' failed to satisfy constraint: Member must not be null`);
    else if (stringValues && typeof v === 'string') {
      if (!validString(valueShape, v)) badValues.push(v);
    } else checkValue(model, { shape: shape.value ?? '' }, v, `${path}.${k}.value`, out);
  }
  if (badValues.length > 0) mapViolation('Map value', stringRules(valueShape, badValues));
}

/** Every constraint of a string shape, worded as violations word them; well-formed Unicode only when it was broken. */
function stringRules(shape: ShapeModel, broken: readonly string[]): string[] {
  const rules: string[] = [];
  if (broken.some((v) => !wellFormed(v))) rules.push(STRING_RULE.wellFormed);
  if (shape.max !== undefined) rules.push(STRING_RULE.max(shape.max));
  if (shape.min !== undefined) rules.push(STRING_RULE.min(shape.min));
  if (shape.pattern !== undefined) rules.push(STRING_RULE.pattern(shape.pattern));
  if (shape.enum !== undefined) rules.push(STRING_RULE.enum(shape.enum));
  return rules.map((rule) => `Member must ${rule}`);
}

/** A map as Java prints one (`{key=value, …}`), quoted and cut as showValue cuts a value. */
function showMap(entries: ReadonlyArray<[string, unknown]>): string {
  return showValue(`{${entries.map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ')}}`);
}
