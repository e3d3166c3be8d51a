import { isUtf8 } from 'node:buffer';
import { errors } from '../api/errors.js';
import type { ServiceModel } from '../api/model/types.js';
import { NotAnInteger, isInt32 } from '../api/validate.js';
import { plusAsSpace } from '../auth/sigv4-request.js';

/** The pieces of a raw request the edge works from, before any interpretation. */
export interface RawRequest {
  readonly method: string;
  /** Path as sent, still percent-encoded. */
  readonly rawPath: string;
  readonly rawQuery: string;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

export function splitUrl(url: string): { rawPath: string; rawQuery: string } {
  // The absolute form (`GET http://host/path`, RFC 9112 §3.2.2), which some forward proxies send: the path is
  // what follows the authority, as the client signed it.
  const target = url.charCodeAt(0) === 47 /* '/' */ ? url : url.replace(/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*/, '');
  const q = target.indexOf('?');
  if (q === -1) return { rawPath: target || '/', rawQuery: '' };
  return { rawPath: target.slice(0, q) || '/', rawQuery: target.slice(q + 1) };
}

function decodeComponent(text: string, what: string): string {
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    throw errors.invalidParameter(`${what} is not valid percent-encoded UTF-8: '${text.slice(0, 64)}'`);
  }
}

/**
 * Path labels: the raw path is split on `/` first and each segment decoded afterwards (WIRE §1.2), so a label
 * may carry `/`, `:`, spaces, `+` and any UTF-8 text.
 */
export function pathLabels(template: string, rawPath: string): Record<string, string> {
  const values = rawPath.split('/');
  const labels: Record<string, string> = {};
  for (const [i, name] of labelPositions(template)) labels[name] = decodeComponent(values[i] ?? '', `Path label ${name}`);
  return labels;
}

/** The [segment index, label name] pairs of a route template, worked out once per template. */
const templateLabels = new Map<string, readonly (readonly [number, string])[]>();
function labelPositions(template: string): readonly (readonly [number, string])[] {
  let positions = templateLabels.get(template);
  if (!positions) {
    positions = template.split('/').flatMap((segment, i) => {
      const m = /^\{(\w+)\}$/.exec(segment);
      return m?.[1] ? [[i, m[1]] as const] : [];
    });
    templateLabels.set(template, positions);
  }
  return positions;
}

/** Query parameters, percent-decoded; a raw `+` is a space, as the signature check reads it (sigv4-request.ts). */
export function queryParams(rawQuery: string): Map<string, string> {
  const params = new Map<string, string>();
  if (!rawQuery) return params;
  for (const part of rawQuery.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const name = decodeComponent(plusAsSpace(eq === -1 ? part : part.slice(0, eq)), 'Query parameter name');
    if (!params.has(name)) {
      params.set(name, decodeComponent(plusAsSpace(eq === -1 ? '' : part.slice(eq + 1)), `Query parameter ${name}`));
    }
  }
  return params;
}

export function headerValue(headers: RawRequest['headers'], name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(',') : v;
}

/**
 * The request body as a JSON object. An empty body is `{}` (v3, boto3 and the CLI send none for operations
 * without body members); anything but a JSON object is a SerializationException.
 */
export function jsonBody(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  // Decoding would replace bad bytes with U+FFFD and store what the client never sent.
  if (!isUtf8(body)) throw errors.serialization('Request body is not valid UTF-8');
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw errors.serialization(`Request body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw errors.serialization('Request body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

/**
 * Builds a restJson1 operation's input from path labels, query string, headers and body as the model binds
 * each member. Query integers arrive as text and are converted here; a non-number is the caller's error.
 */
export function restJsonInput(
  model: ServiceModel, inputShape: string, template: string, req: RawRequest,
): Record<string, unknown> {
  const binding = bindingFor(model, inputShape, template);
  const input: Record<string, unknown> = binding.hasBodyMembers ? jsonBody(req.body) : {};
  const labels = pathLabels(template, req.rawPath);
  const query = binding.hasQueryMembers ? queryParams(req.rawQuery) : undefined;
  for (const m of binding.members) {
    if (m.location === 'uri') input[m.name] = labels[m.wireName];
    else if (m.location === 'header') {
      const v = headerValue(req.headers, m.wireName);
      if (v !== undefined) input[m.name] = v;
    } else {
      const v = query?.get(m.wireName);
      if (v === undefined) continue;
      input[m.name] = m.integer ? queryInteger(v, m.integer) : v;
    }
  }
  return input;
}

/** How one operation's input members bind to the request, worked out once per operation from the model. */
interface InputBinding {
  readonly hasBodyMembers: boolean;
  readonly hasQueryMembers: boolean;
  /** Non-body members in model order. */
  readonly members: readonly {
    readonly name: string;
    readonly wireName: string;
    readonly location: 'uri' | 'header' | 'querystring';
    /** A query member whose shape is an integer or long (sent as text): which of the two; else false. */
    readonly integer: 'integer' | 'long' | false;
  }[];
}
const bindings = new WeakMap<ServiceModel, Map<string, InputBinding>>();

function bindingFor(model: ServiceModel, inputShape: string, template: string): InputBinding {
  let byOperation = bindings.get(model);
  if (!byOperation) bindings.set(model, (byOperation = new Map()));
  const id = `${inputShape} ${template}`;
  let binding = byOperation.get(id);
  if (!binding) {
    const members = Object.entries(model.shapes[inputShape]?.members ?? {});
    const bound = members.flatMap(([name, member]) => {
      const location = member.location;
      if (location !== 'uri' && location !== 'header' && location !== 'querystring') return [];
      const type = model.shapes[member.shape]?.type;
      const integer = type === 'integer' || type === 'long' ? type : false;
      return [{ name, wireName: member.locationName ?? name, location, integer }] as const;
    });
    binding = {
      hasBodyMembers: members.some(([, m]) => !m.location),
      hasQueryMembers: bound.some((m) => m.location === 'querystring'),
      members: bound,
    };
    byOperation.set(id, binding);
  }
  return binding;
}

/**
 * A 32-bit integer member (`integer`) must fit in 32 bits, a `long` in a JavaScript number exactly; anything else
 * is reported by validateInput with the request's other violations.
 */
function queryInteger(text: string, type: 'integer' | 'long'): number | NotAnInteger {
  const n = Number(text);
  // Decimal digits only: Number() would also take '0x10', '1e3' or ' 7 '.
  const exact = type === 'integer' ? isInt32(n) : Number.isSafeInteger(n);
  return /^[+-]?\d+$/.test(text) && exact ? n : new NotAnInteger(text);
}
