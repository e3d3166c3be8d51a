/**
 * Runs `call` and reports the longest time the event loop went without a turn while it ran (a setImmediate chain
 * notes each turn), how many turns it took, and the call's length. Tests compare the gap with the call's length,
 * never with a fixed time: CI hosts differ in speed.
 */
export async function turnsDuring<T>(
  call: () => Promise<T>,
): Promise<{ result: T; longestGapMs: number; turns: number; totalMs: number }> {
  let last = performance.now();
  let longest = 0;
  let turns = 0;
  let running = true;
  const tick = () => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    turns += 1;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  const start = performance.now();
  const result = await call();
  const totalMs = performance.now() - start;
  running = false;
  return { result, longestGapMs: Math.max(longest, performance.now() - last), turns, totalMs };
}
