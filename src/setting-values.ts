/**
 * How settings (flags and environment variables) read numbers, for src/config.ts and src/triggers/config.ts alike.
 * Decimal notation only: Number() would also read '' and ' ' as 0 (for a rate: throttling off; for the trigger
 * concurrency: no limit), '0x10' as 16 and '1e3' as 1000.
 */
export function integer(name: string, value: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(value);
  if (!/^[+-]?\d+$/.test(value) || !Number.isSafeInteger(n) || n < min) {
    throw new Error(`${name} must be an integer >= ${min}, got '${value}'`);
  }
  if (n > max) throw new Error(`${name} must be at most ${max}, got '${value}'`);
  return n;
}
