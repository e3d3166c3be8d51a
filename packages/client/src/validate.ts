import { InvalidArgumentError } from './errors.js';

/** Dataset names as Cognito Sync accepts them (the model's pattern). */
const DATASET_NAME = /^[a-zA-Z0-9_.:-]{1,128}$/;

export function checkDatasetName(name: string): void {
  if (typeof name !== 'string' || !DATASET_NAME.test(name)) {
    throw new InvalidArgumentError(`dataset name must match ${DATASET_NAME.source}: ${shown(name)}`);
  }
}

/**
 * An argument as an error message names it: JSON, its first 100 characters only (a refused key can be a megabyte),
 * with its length when cut.
 */
function shown(arg: unknown): string {
  if (typeof arg !== 'string') return arg === null ? 'null' : `a ${typeof arg}`;
  return arg.length > 100 ? `${JSON.stringify(arg.slice(0, 100))}… (${arg.length} characters)` : JSON.stringify(arg);
}

/**
 * Whether `s` is well-formed UTF-16 (no lone surrogate). A string that is not cannot be sent as UTF-8, so the
 * server refuses every push that carries it: accepted locally, it would fail each sync of its dataset for ever.
 */
function isWellFormed(s: string): boolean {
  const native = (s as { isWellFormed?: () => boolean }).isWellFormed;
  if (typeof native === 'function') return native.call(s);
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
}

/** Record keys: 1–1,024 characters (the service model's bounds), well-formed. */
export function checkKey(key: string): void {
  if (typeof key !== 'string' || key.length < 1 || key.length > 1024) {
    throw new InvalidArgumentError(`record key must be a string of 1 to 1024 characters: ${shown(key)}`);
  }
  if (!isWellFormed(key)) throw new InvalidArgumentError(`record key has a lone UTF-16 surrogate: ${shown(key)}`);
}

/** Values are well-formed strings (the empty string included); use remove() to remove a record. */
export function checkValue(value: string): void {
  if (typeof value !== 'string') throw new InvalidArgumentError(`record value must be a string, got ${typeof value}`);
  if (value.length > 1_048_575) throw new InvalidArgumentError('record value is longer than 1,048,575 characters');
  if (!isWellFormed(value)) throw new InvalidArgumentError('record value has a lone UTF-16 surrogate');
}
