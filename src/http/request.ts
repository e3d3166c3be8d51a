import { errors } from '../api/errors.js';
import type { ServiceModel } from '../api/model/types.js';

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
  const q = url.indexOf('?');
  return q === -1 ? { rawPath: url, rawQuery: '' } : { rawPath: url.slice(0, q), rawQuery: url.slice(q + 1) };
}

function decodeComponent(text: string, what: string): string {
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
  const names = template.split('/');
  const values = rawPath.split('/');
  const labels: Record<string, string> = {};
  names.forEach((segment, i) => {
    const m = /^\{(\w+)\}$/.exec(segment);
    if (m?.[1]) labels[m[1]] = decodeComponent(values[i] ?? '', `Path label ${m[1]}`);
  });
  return labels;
}

/** Query parameters, percent-decoded (`+` stays `+`: no official client sends it for a space). */
export function queryParams(rawQuery: string): Map<string, string> {
  const params = new Map<string, string>();
  if (!rawQuery) return params;
  for (const part of rawQuery.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const name = decodeComponent(eq === -1 ? part : part.slice(0, eq), 'Query parameter name');
    if (!params.has(name)) params.set(name, decodeComponent(eq === -1 ? '' : part.slice(eq + 1), `Query parameter ${name}`));
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
  const shape = model.shapes[inputShape];
  const members = shape?.members ?? {};
  const hasBodyMembers = Object.values(members).some((m) => !m.location);
  const input: Record<string, unknown> = hasBodyMembers ? jsonBody(req.body) : {};
  const labels = pathLabels(template, req.rawPath);
  const query = queryParams(req.rawQuery);
  for (const [name, member] of Object.entries(members)) {
    const wireName = member.locationName ?? name;
    if (member.location === 'uri') input[name] = labels[wireName];
    else if (member.location === 'header') {
      const v = headerValue(req.headers, wireName);
      if (v !== undefined) input[name] = v;
    } else if (member.location === 'querystring') {
      const v = query.get(wireName);
      if (v === undefined) continue;
      const type = model.shapes[member.shape]?.type;
      input[name] = type === 'integer' || type === 'long' ? queryInteger(wireName, v) : v;
    }
  }
  return input;
}

function queryInteger(name: string, text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isSafeInteger(n)) {
    throw errors.invalidParameter(`1 validation error detected: Value '${text.slice(0, 64)}' at '${name}' failed to satisfy constraint: Member must be an integer`);
  }
  return n;
}
