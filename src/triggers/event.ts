import type { Patch } from '../domain/update-plan.js';
import type { DatasetRow, RecordRow } from '../storage/types.js';

/**
 * The Sync Trigger event (version 2, SPEC §7) and the rules for what a trigger may answer. Pure: the dataset as
 * read before the call and the request's patches in, the patches to commit out.
 */

export interface TriggerRecord {
  oldValue: string | null;
  newValue: string | null;
  op: 'replace' | 'remove';
}

export interface SyncTriggerEvent {
  version: 2;
  eventType: 'SyncTrigger';
  region: string;
  identityPoolId: string;
  identityId: string;
  datasetName: string;
  datasetRecords: Record<string, TriggerRecord>;
}

/** The dataset as it stood when the event was built: its row and every record and tombstone. */
export interface DatasetSnapshot {
  readonly dataset: DatasetRow | undefined;
  readonly records: ReadonlyMap<string, RecordRow>;
}

export interface EventContext {
  readonly region: string;
  readonly identityPoolId: string;
  readonly identityId: string;
  readonly datasetName: string;
}

/** Output that breaks the rules; the caller answers InvalidLambdaFunctionOutputException with this message. */
export class InvalidTriggerOutput extends Error {}

const READ_ONLY_FIELDS = ['version', 'eventType', 'region', 'identityPoolId', 'identityId', 'datasetName'] as const;
const MAX_KEY_LENGTH = 1024;
const MAX_VALUE_LENGTH = 1_048_575;

/** A null record value marks a tombstone; only live records are "present in the dataset". */
const liveValue = (row: RecordRow | undefined): string | null => row?.value ?? null;

/**
 * The event: every live record of the dataset, the request's patches applied. A record the request writes carries
 * its stored value as `oldValue` (null when absent or removed) and the requested value as `newValue`, with the
 * patch's `op` (`remove` has `newValue` null). A record the request does not touch appears unchanged:
 * `{oldValue: v, newValue: v, op: "replace"}`. Tombstones the request does not touch are left out.
 */
export function buildEvent(ctx: EventContext, snapshot: DatasetSnapshot, patches: readonly Patch[]): SyncTriggerEvent {
  // No prototype: a record key may be any string, "__proto__" included.
  const datasetRecords = Object.create(null) as Record<string, TriggerRecord>;
  for (const row of snapshot.records.values()) {
    if (row.value !== null) datasetRecords[row.key] = { oldValue: row.value, newValue: row.value, op: 'replace' };
  }
  for (const p of patches) {
    const oldValue = liveValue(snapshot.records.get(p.key));
    datasetRecords[p.key] = p.op === 'remove'
      ? { oldValue, newValue: null, op: 'remove' }
      : { oldValue, newValue: p.value ?? '', op: 'replace' };
  }
  return {
    version: 2,
    eventType: 'SyncTrigger',
    region: ctx.region,
    identityPoolId: ctx.identityPoolId,
    identityId: ctx.identityId,
    datasetName: ctx.datasetName,
    datasetRecords,
  };
}

type Desired = { readonly op: 'replace'; readonly value: string } | { readonly op: 'remove' };

/**
 * Applies a trigger's answer (AWS's rules, SPEC §7) and returns the patches to commit:
 * - the answer must be an object with the event's read-only fields unchanged and nothing else but
 *   `datasetRecords`, an object of records (else InvalidTriggerOutput);
 * - each record is `null` (removed) or `{op, newValue, oldValue?}`: `op` "replace" with a string `newValue` sets
 *   the value; `op` "remove", or `newValue` null, removes the record; `oldValue` is informational;
 * - a record the request patched is committed as the answer says, with the request's SyncCount (conflict rules
 *   unchanged); left out of the answer, the request's change to it is dropped ("omitted records are ignored");
 * - a record the request did not patch is written only when the answer changes it; it takes its current count,
 *   so the commit refuses it if it moved meanwhile;
 * - a key the event did not carry is added when the answer sets a value; removing such a key changes nothing.
 * Keys and values must fit the model (key 1–1,024 characters, value at most 1,048,575, well-formed Unicode). An
 * answer that adds more records than the dataset may hold (`maxRecords`, or what it holds already when that is more:
 * the quota refuses growth only) could never be committed, and is refused before its records are checked one by one.
 */
export function applyTriggerOutput(
  event: SyncTriggerEvent, output: unknown, patches: readonly Patch[], snapshot: DatasetSnapshot, maxRecords: number,
): Patch[] {
  if (output === null || typeof output !== 'object' || Array.isArray(output)) {
    throw new InvalidTriggerOutput('the output is not a JSON object');
  }
  const answer = output as Record<string, unknown>;
  for (const field of READ_ONLY_FIELDS) {
    if (answer[field] !== event[field]) {
      throw new InvalidTriggerOutput(`the output changed the read-only field '${field}'`);
    }
  }
  for (const field of Object.keys(answer)) {
    if (field !== 'datasetRecords' && !(READ_ONLY_FIELDS as readonly string[]).includes(field)) {
      throw new InvalidTriggerOutput(`the output added the field '${field}'; only datasetRecords may change`);
    }
  }
  const records = answer['datasetRecords'];
  if (records === null || typeof records !== 'object' || Array.isArray(records)) {
    throw new InvalidTriggerOutput('datasetRecords in the output is not an object');
  }

  const entries = Object.entries(records as Record<string, unknown>);
  const added = countAdded(entries, event.datasetRecords);
  const most = Math.max(maxRecords, Object.keys(event.datasetRecords).length);
  if (added > most) {
    throw new InvalidTriggerOutput(`the output adds ${added} records the event did not hold; the dataset may hold at most ${most}`);
  }
  const patched = new Map(patches.map((p) => [p.key, p]));
  const result: Patch[] = [];
  for (const [key, entry] of entries) {
    const desired = readRecord(key, entry);
    const patch = patched.get(key);
    if (patch) {
      result.push(desired.op === 'remove'
        ? { ...patch, op: 'remove', value: undefined }
        : { ...patch, op: 'replace', value: desired.value });
      continue;
    }
    const current = snapshot.records.get(key);
    const before = event.datasetRecords[key];
    if (before !== undefined) {
      // An untouched live record: written only when the answer differs from what the event said.
      if (desired.op === 'replace' && desired.value === before.newValue) continue;
    } else if (desired.op === 'remove') {
      continue; // nothing live to remove
    }
    result.push({
      op: desired.op,
      key,
      value: desired.op === 'replace' ? desired.value : undefined,
      syncCount: current?.syncCount ?? 0,
      deviceLastModifiedAt: undefined,
    });
  }
  return result;
}

/** Entries that would add a record: a key the event did not hold, given a value. */
function countAdded(entries: readonly (readonly [string, unknown])[], held: Readonly<Record<string, unknown>>): number {
  let added = 0;
  for (const [key, entry] of entries) {
    if (Object.hasOwn(held, key) || entry === null || typeof entry !== 'object') continue;
    const { op, newValue } = entry as Record<string, unknown>;
    if (op !== 'remove' && newValue !== null && newValue !== undefined) added++;
  }
  return added;
}

function readRecord(key: string, entry: unknown): Desired {
  if (key.length < 1 || key.length > MAX_KEY_LENGTH) {
    throw new InvalidTriggerOutput(`a record key in the output has ${key.length} characters; keys have 1 to ${MAX_KEY_LENGTH}`);
  }
  // Half a surrogate pair would be stored as U+FFFD: a key the app could never address again, a value not as sent.
  if (!isWellFormed(key)) throw new InvalidTriggerOutput(`record ${quoted(key)} in the output has a key that is not well-formed Unicode`);
  if (entry === null) return { op: 'remove' };
  if (typeof entry !== 'object' || Array.isArray(entry)) {
    throw new InvalidTriggerOutput(`record ${quoted(key)} in the output is not an object or null`);
  }
  const { op, newValue, oldValue } = entry as Record<string, unknown>;
  if (oldValue !== undefined && oldValue !== null && typeof oldValue !== 'string') {
    throw new InvalidTriggerOutput(`record ${quoted(key)} in the output has an oldValue that is not a string or null`);
  }
  if (newValue !== undefined && newValue !== null && typeof newValue !== 'string') {
    throw new InvalidTriggerOutput(`record ${quoted(key)} in the output has a newValue that is not a string or null`);
  }
  if (op === 'remove') return { op: 'remove' };
  if (op !== 'replace') {
    const json = JSON.stringify(op) ?? 'undefined';
    const shown = json.length <= QUOTED_CHARS ? json : `${json.slice(0, QUOTED_CHARS)}… (${json.length} characters)`;
    throw new InvalidTriggerOutput(`record ${quoted(key)} in the output has op ${shown}; use "replace" or "remove"`);
  }
  if (newValue === null) return { op: 'remove' };
  if (newValue === undefined) throw new InvalidTriggerOutput(`record ${quoted(key)} in the output has op "replace" but no newValue`);
  if (newValue.length > MAX_VALUE_LENGTH) {
    throw new InvalidTriggerOutput(`record ${quoted(key)} in the output has a value of ${newValue.length} characters; the maximum is ${MAX_VALUE_LENGTH}`);
  }
  if (!isWellFormed(newValue)) throw new InvalidTriggerOutput(`record ${quoted(key)} in the output has a newValue that is not well-formed Unicode`);
  return { op: 'replace', value: newValue };
}

/** Characters of a key or value quoted in an error message: the message goes to the app and the log. */
const QUOTED_CHARS = 100;

function quoted(text: string): string {
  return text.length <= QUOTED_CHARS ? `'${text}'` : `'${text.slice(0, QUOTED_CHARS)}…' (${text.length} characters)`;
}

/** False for a string holding half a surrogate pair (JSON allows `"\ud800"`); `isWellFormed` is ES2024. */
function isWellFormed(text: string): boolean {
  return (text as string & { isWellFormed(): boolean }).isWellFormed();
}
