/**
 * A call the store refuses, or stops between its steps, because the store is closing or closed: close() waits for
 * the step in flight only. Work stopped this way is left as the store's contract says (a pool deletion stays marked
 * and the next open finishes it). Every engine throws this one class.
 */
export class StoreClosedError extends Error {
  constructor() {
    super('the store is closed');
    this.name = 'StoreClosedError';
  }
}
