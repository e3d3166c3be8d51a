import { checkValue } from './validate.js';

/** What a conflict resolver sees: a record changed here and on the server since the last sync. */
export interface Conflict {
  readonly datasetName: string;
  readonly key: string;
  /** The local value (`null`: removed here) and when it was written on this device (epoch ms). */
  readonly local: { readonly value: string | null; readonly modifiedAt: number };
  /** The server's value (`null`: removed), when the writing device changed it (epoch ms), and its sync count. */
  readonly remote: { readonly value: string | null; readonly modifiedAt: number; readonly syncCount: number };
}

/** Keep the server's value, keep the local one (pushed over the server's), or store another value. */
export type Resolution =
  | { readonly use: 'remote' }
  | { readonly use: 'local' }
  | { readonly use: 'value'; readonly value: string | null };

export type ConflictResolver = (conflict: Conflict) => Resolution | Promise<Resolution>;

/**
 * The default: the value written last wins, by the time of the edit on the writing device (the server's
 * DeviceLastModifiedDate, else its LastModifiedDate). On a tie the server's value wins, so every device
 * decides the same way.
 */
export const lastWriterWins: ConflictResolver = (c) =>
  c.local.modifiedAt > c.remote.modifiedAt ? { use: 'local' } : { use: 'remote' };

export const remoteWins: ConflictResolver = () => ({ use: 'remote' });

export const localWins: ConflictResolver = () => ({ use: 'local' });

/**
 * What a resolver answered, if it is a Resolution (a 'value' one with a value put() would take, or null);
 * otherwise a TypeError naming the answer. Resolvers are app code, typed or not: an answer outside the type must
 * not be stored (a number) or read as another resolution (a misspelt `use`).
 */
export function checkResolution(answer: unknown): Resolution {
  const r = (typeof answer === 'object' && answer !== null ? answer : {}) as { use?: unknown; value?: unknown };
  if (r.use === 'remote' || r.use === 'local') return answer as Resolution;
  if (r.use === 'value' && 'value' in r) {
    if (r.value === null) return answer as Resolution;
    try {
      checkValue(r.value as string);
      return answer as Resolution;
    } catch (err) {
      throw new TypeError(`${describeAnswer(answer)}, whose value is not valid: ${(err as Error).message}`);
    }
  }
  throw new TypeError(`${describeAnswer(answer)}, not a Resolution ({ use: 'remote' }, { use: 'local' } or ` +
    "{ use: 'value', value: a string or null })");
}

/** An app's answer as a message shows it: JSON where it has a JSON form, cut to 100 characters. */
export function describeAnswer(answer: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(answer);
  } catch {
    text = undefined;
  }
  text ??= String(answer);
  return text.length > 100 ? `${text.slice(0, 100)}…` : text;
}
