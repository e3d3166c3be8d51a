import { InvalidArgumentError } from './errors.js';

/** Dataset names as Cognito Sync accepts them (the model's pattern). */
const DATASET_NAME = /^[a-zA-Z0-9_.:-]{1,128}$/;

export function checkDatasetName(name: string): void {
  if (typeof name !== 'string' || !DATASET_NAME.test(name)) {
    throw new InvalidArgumentError(`dataset name must match ${DATASET_NAME.source}: ${JSON.stringify(name)}`);
  }
}

/** Record keys: 1–1,024 characters (the service model's bounds). */
export function checkKey(key: string): void {
  if (typeof key !== 'string' || key.length < 1 || key.length > 1024) {
    throw new InvalidArgumentError(`record key must be a string of 1 to 1024 characters: ${JSON.stringify(key)}`);
  }
}

/** Values are strings (the empty string included); use remove() to remove a record. */
export function checkValue(value: string): void {
  if (typeof value !== 'string') throw new InvalidArgumentError(`record value must be a string, got ${typeof value}`);
  if (value.length > 1_048_575) throw new InvalidArgumentError('record value is longer than 1,048,575 characters');
}
