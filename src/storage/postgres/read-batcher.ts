/**
 * Coalesces concurrent calls into one statement, the way group commit coalesces writes: a call made while no batch
 * is in flight starts one at once (no added latency when the server is quiet); calls made while one is in flight
 * wait for it to finish and then go together in the next. A call never joins a batch already sent, so it reads a
 * snapshot taken after it was made: what any write that finished before the call did is visible to it.
 *
 * Under load this turns N statements (N round trips, N statements to parse, bind and answer) into one.
 * `run` answers one result per argument, in order.
 */
export function callBatcher<A, R>(run: (args: readonly A[]) => Promise<R[]>, maxBatch = 256): (arg: A) => Promise<R> {
  interface Waiter { arg: A; resolve(value: R): void; reject(error: unknown): void }
  let queue: Waiter[] = [];
  let inFlight = false;

  function flush(): void {
    if (inFlight || queue.length === 0) return;
    const batch = queue.slice(0, maxBatch);
    queue = queue.slice(batch.length);
    inFlight = true;
    run(batch.map((w) => w.arg)).then(
      (results) => batch.forEach((w, i) => w.resolve(results[i]!)),
      (error: unknown) => { for (const w of batch) w.reject(error); },
    ).finally(() => {
      inFlight = false;
      flush();
    });
  }

  return (arg) => new Promise<R>((resolve, reject) => {
    queue.push({ arg, resolve, reject });
    flush();
  });
}

/** Point reads by key: `load` gets each key of the batch once and answers what it found. */
export function readBatcher<K, V>(load: (keys: readonly K[]) => Promise<Map<K, V>>, maxBatch = 256): (key: K) => Promise<V | undefined> {
  return callBatcher(async (keys: readonly K[]) => {
    const found = await load([...new Set(keys)]);
    return keys.map((k) => found.get(k));
  }, maxBatch);
}
