/**
 * Coalesces concurrent point reads into one statement, the way group commit coalesces writes: a call made while no
 * batch is in flight starts one at once (no added latency when the server is quiet); calls made while one is in
 * flight wait for it to finish and then go together in the next. A call never joins a batch already sent, so it
 * reads a snapshot taken after it was made: what any write that finished before the call did is visible to it.
 *
 * Under load this turns N reads (N round trips, N statements to parse, bind and answer) into one.
 */
export function readBatcher<K, V>(load: (keys: readonly K[]) => Promise<Map<K, V>>, maxBatch = 256): (key: K) => Promise<V | undefined> {
  interface Waiter { key: K; resolve(value: V | undefined): void; reject(error: unknown): void }
  let queue: Waiter[] = [];
  let inFlight = false;

  function flush(): void {
    if (inFlight || queue.length === 0) return;
    const batch = queue.slice(0, maxBatch);
    queue = queue.slice(batch.length);
    inFlight = true;
    load([...new Set(batch.map((w) => w.key))]).then(
      (found) => { for (const w of batch) w.resolve(found.get(w.key)); },
      (error: unknown) => { for (const w of batch) w.reject(error); },
    ).finally(() => {
      inFlight = false;
      flush();
    });
  }

  return (key) => new Promise<V | undefined>((resolve, reject) => {
    queue.push({ key, resolve, reject });
    flush();
  });
}
