/**
 * The history a randomized multi-instance run records, and the checker that decides whether it is a correct
 * Cognito Sync history. Pure: no I/O; times are the recorder's logical clock (one counter ticked at every call's
 * start and end in the one test process, so `a.end < b.start` means a was answered before b was sent).
 *
 * Rules checked per dataset (docs/postgres.md, "How writes stay correct across instances"):
 * - the sync counts of acknowledged UpdateRecords are exactly 1, 2, …, N: none repeats, none is skipped;
 * - writes are ordered as the clients saw them: an ack before another request was sent has the lower count;
 * - replayed in count order, every acknowledged write found what it expected: each patch's SyncCount equals the
 *   count its key had just before (the server's conflict rule), with DeleteDatasets placed between writes so
 *   that this holds and each delete falls within the real-time window of its call;
 * - every read saw a state of the replay: ListRecords at count n lists record versions of the replay at n
 *   (a record may be missing only if a later write or a delete replaced it while the listing ran), reads never
 *   go back before an ack the client had already seen, and a "does not exist" read falls after a delete;
 * - the final state read back equals the replay: no acknowledged write is lost, none appears twice.
 */
export interface Patch { readonly op: 'replace' | 'remove'; readonly key: string; readonly value: string; readonly expected: number }
export interface RecordVersion { readonly key: string; readonly value: string | null; readonly syncCount: number }
export interface Ack { readonly start: number; readonly end: number; readonly syncCount: number; readonly patches: readonly Patch[] }
export interface Deletion { readonly start: number; readonly end: number }
export interface Read {
  readonly start: number; readonly end: number; readonly exists: boolean; readonly syncCount: number;
  readonly records: readonly RecordVersion[];
}
export interface DatasetHistory {
  readonly acks: Ack[];
  readonly deletions: Deletion[];
  readonly reads: Read[];
}
export interface FinalState { readonly exists: boolean; readonly syncCount: number; readonly records: readonly RecordVersion[] }

/** How many search steps the delete placement may take before the checker gives up (and says so). */
const SEARCH_BUDGET = 2_000_000;

type State = Map<string, RecordVersion>;

/** Violations found in one dataset's history (empty when it is correct). */
export function checkDataset(name: string, h: DatasetHistory, final: FinalState): string[] {
  const acks = [...h.acks].sort((a, b) => a.syncCount - b.syncCount);
  const counts = checkCounts(acks);
  if (counts.length > 0) return counts.map((v) => `${name}: ${v}`);
  const violations = [...checkRealTime(acks, h.reads)];
  const n = acks.length;
  const windows = h.deletions.map((d) => deletionWindow(d, acks, h.reads));
  windows.forEach((w, i) => {
    if (w.lo > w.hi) violations.push(`deletion #${i} has no place: it must fall after count ${w.lo} and by count ${w.hi}`);
  });
  if (violations.length > 0) return violations.map((v) => `${name}: ${v}`);
  const found = placeDeletions(acks, windows, h.reads, final);
  return found.ok ? [] : [`${name}: no order of the ${h.deletions.length} deletions among the ${n} writes explains the history; ` +
    `deepest failure at count ${found.depth}: ${found.reason}`];
}

/** Counts are exactly 1..N. */
function checkCounts(sorted: readonly Ack[]): string[] {
  const out: string[] = [];
  sorted.forEach((a, i) => {
    if (i > 0 && sorted[i - 1]!.syncCount === a.syncCount) out.push(`sync count ${a.syncCount} was acknowledged twice`);
  });
  let previous = 0;
  for (const c of new Set(sorted.map((a) => a.syncCount))) {
    if (c !== previous + 1) out.push(`sync count ${previous + 1}${c > previous + 2 ? `…${c - 1}` : ''} was skipped (next acknowledged: ${c})`);
    previous = c;
  }
  return out.slice(0, 10);
}

/** An ack seen before a request was sent bounds the count that request may have or see. */
function checkRealTime(acks: readonly Ack[], reads: readonly Read[]): string[] {
  const out: string[] = [];
  for (const b of acks) {
    const before = maxCountAckedBefore(acks, b.start);
    if (before >= b.syncCount) out.push(`write with count ${b.syncCount} was sent after the ack of count ${before}`);
  }
  for (const r of reads) {
    if (!r.exists) continue;
    const before = maxCountAckedBefore(acks, r.start);
    if (r.syncCount < before) out.push(`read at count ${r.syncCount} was sent after the ack of count ${before}`);
    if (r.syncCount > acks.length) out.push(`read at count ${r.syncCount}, beyond every acknowledged write`);
  }
  return out.slice(0, 10);
}

const maxCountAckedBefore = (acks: readonly Ack[], time: number): number =>
  acks.reduce((m, a) => (a.end < time && a.syncCount > m ? a.syncCount : m), 0);

/** The counts a deletion may sit after: [lo, hi] (it sits between write `lo`…`hi` and the next write). */
function deletionWindow(d: Deletion, acks: readonly Ack[], reads: readonly Read[]): { lo: number; hi: number } {
  let lo = Math.max(1, maxCountAckedBefore(acks, d.start));
  let hi = acks.length;
  for (const r of reads) {
    if (r.exists && r.end < d.start) lo = Math.max(lo, r.syncCount);
    // A read sent after the deletion's answer that finds the dataset saw a write made after the deletion.
    if (r.exists && r.start > d.end) hi = Math.min(hi, r.syncCount - 1);
  }
  for (const a of acks) if (a.start > d.end) hi = Math.min(hi, a.syncCount - 1);
  return { lo, hi };
}

interface Outcome { ok: boolean; depth: number; reason: string }

/**
 * Depth-first search over where the deletions fall. At each count at most one deletion can sit (the dataset is
 * gone until the next write; a second DeleteDataset answers 404). Deletions are interchangeable but for their
 * windows, so the one with the earliest deadline is the one to place (the other choices cannot do better).
 */
function placeDeletions(acks: readonly Ack[], windows: readonly { lo: number; hi: number }[], reads: readonly Read[], final: FinalState): Outcome {
  const n = acks.length;
  const readsAt = new Map<number, Read[]>();
  for (const r of reads) if (r.exists) readsAt.set(r.syncCount, [...(readsAt.get(r.syncCount) ?? []), r]);
  const writesOfKey = new Map<string, number[]>();
  for (const a of acks) for (const p of a.patches) writesOfKey.set(p.key, [...(writesOfKey.get(p.key) ?? []), a.syncCount]);
  const lastDeletionDeadline = Math.max(0, ...windows.map((w) => w.hi));
  const order = windows.map((w, i) => ({ ...w, i })).sort((x, y) => x.hi - y.hi);
  const placed = new Map<number, number>(); // deletion index → count it sits after
  let steps = 0;
  let deepest: Outcome = { ok: false, depth: -1, reason: 'nothing tried' };
  const fail = (depth: number, reason: string): Outcome => {
    if (depth > deepest.depth) deepest = { ok: false, depth, reason };
    return deepest;
  };

  const apply = (count: number, state: State): string | undefined => {
    const a = acks[count - 1]!;
    for (const p of a.patches) {
      const current = state.get(p.key)?.syncCount ?? 0;
      if (current !== p.expected) return `write ${count} expected ${p.key} at ${p.expected}, the replay has it at ${current}`;
    }
    for (const p of a.patches) state.set(p.key, { key: p.key, value: p.op === 'remove' ? null : p.value, syncCount: count });
    return undefined;
  };

  const readMismatch = (count: number, state: State): string | undefined => {
    for (const r of readsAt.get(count) ?? []) {
      const listed = new Map(r.records.map((v) => [v.key, v]));
      for (const v of r.records) {
        const want = state.get(v.key);
        if (!want || want.syncCount !== v.syncCount || want.value !== v.value) {
          return `read at ${count} listed ${JSON.stringify(v)}, the replay has ${JSON.stringify(want ?? null)}`;
        }
      }
      for (const [key, want] of state) {
        if (listed.has(key)) continue;
        const replacedLater = (writesOfKey.get(key) ?? []).some((c) => c > count) || lastDeletionDeadline >= count;
        if (!replacedLater) return `read at ${count} misses ${JSON.stringify(want)}, which nothing later replaced`;
      }
    }
    return undefined;
  };

  const finish = (): Outcome => {
    if (placed.size !== windows.length) return fail(n, 'a deletion was left unplaced');
    const live = n > 0 && ![...placed.values()].includes(n);
    if (final.exists !== live) return fail(n, `the final read says exists=${final.exists}, the replay ${live ? 'has it live' : 'has none'}`);
    if (final.exists && final.syncCount !== n) return fail(n, `the final read is at count ${final.syncCount}, the replay at ${n}`);
    for (const r of reads) {
      if (r.exists) continue;
      const lo = maxCountAckedBefore(acks, r.start);
      const later = acks.filter((a) => a.start > r.end).map((a) => a.syncCount - 1);
      const hi = Math.min(n, ...later);
      if (lo > 0 && ![...placed.values()].some((d) => d >= lo && d <= hi)) {
        return fail(n, `a read found no dataset between counts ${lo} and ${hi}, where no deletion sits`);
      }
    }
    return { ok: true, depth: n, reason: '' };
  };

  const finalMismatch = (state: State): string | undefined => {
    const got = JSON.stringify([...final.records].sort(byKey));
    const want = JSON.stringify([...state.values()].sort(byKey));
    return final.exists && got !== want ? `the final state ${got} differs from the replay ${want}` : undefined;
  };

  // After write `count` was applied to `state`: check reads, then decide whether a deletion sits here.
  const after = (count: number, state: State): Outcome => {
    if (++steps > SEARCH_BUDGET) return fail(count, 'search budget exhausted');
    const mismatch = readMismatch(count, state);
    if (mismatch) return fail(count, mismatch);
    const next = order.find((d) => !placed.has(d.i) && d.lo <= count && count <= d.hi);
    const overdue = order.some((d) => !placed.has(d.i) && d.hi < count);
    if (overdue) return fail(count, 'a deletion passed its last possible place');
    const mustPlace = next !== undefined && next.hi === count;
    const tries: boolean[] = mustPlace ? [true] : next ? [false, true] : [false];
    for (const del of tries) {
      if (del) placed.set(next!.i, count);
      const s = del ? new Map() : tries.length > 1 ? new Map(state) : state;
      const outcome = continueFrom(count, s);
      if (outcome.ok) return outcome;
      if (del) placed.delete(next!.i);
    }
    return deepest;
  };

  const continueFrom = (count: number, state: State): Outcome => {
    if (count === n) {
      const m = finalMismatch(state);
      return m ? fail(n, m) : finish();
    }
    const problem = apply(count + 1, state);
    return problem ? fail(count + 1, problem) : after(count + 1, state);
  };

  if (n === 0) return windows.length > 0 ? fail(0, 'a deletion acknowledged on a dataset never written') : finish();
  const start: State = new Map();
  const problem = apply(1, start);
  return problem ? fail(1, problem) : after(1, start);
}

const byKey = (a: RecordVersion, b: RecordVersion) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
