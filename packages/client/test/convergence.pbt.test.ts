/**
 * Property: three devices of one account, editing one dataset through random interleavings of puts (empty
 * strings included), removes, syncs (some with an edit racing the sync, some two devices at once, so the server
 * answers 409), network loss, dataset deletion and a guest who signs in mid-run (merged into the account) always
 * converge: after everyone is back online and has synced, every device holds exactly the server's records, no
 * merged dataset is left, and no acknowledged change is lost, app restarts on the same store included.
 *
 * "Not lost" is checked against a logical clock that stamps every edit: each key must hold its latest edit (last
 * writer wins, the default resolution) unless a dataset deletion reached the server after that edit, or the latest
 * edit is a removal the guest had synced before signing in (the server's merge keeps live records only); then the
 * key is absent or holds one of its edits. Runs: CLIENT_PBT_RUNS (default 200: 10–30 s).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import fc from 'fast-check';
import { ListDatasetsCommand, ListRecordsCommand } from '@aws-sdk/client-cognito-sync';
import { clients, device, startServerWithLogins, type Device, type TestServer } from './support.js';
import { MemoryStore, type Dataset, type LocalStore, type StoredValue, type SyncResult } from '../src/index.js';

/** The same stored values behind a new store object (close() ended the old one). */
function reopened(store: LocalStore): LocalStore {
  return {
    get: (k) => store.get(k), set: (k, v: StoredValue) => store.set(k, v), delete: (k) => store.delete(k),
    keys: (p) => store.keys(p), close: async () => undefined,
  };
}

const RUNS = Number(process.env['CLIENT_PBT_RUNS'] ?? 200);
const DATASET = 'settings';
const KEYS = ['a', 'b', 'c', 'd'] as const;
const DEVICES = 3; // 0 and 2: signed in from the start; 1: a guest until it signs in
const GUEST = 1;

type Cmd =
  | { t: 'edit'; dev: number; key: string; kind: 'put' | 'empty' | 'remove' }
  | { t: 'sync'; dev: number }
  | { t: 'syncWithEdit'; dev: number; key: string; hops: number }
  | { t: 'race'; a: number; b: number }
  | { t: 'network'; dev: number }
  | { t: 'delete'; dev: number }
  | { t: 'login' }
  | { t: 'restart'; dev: number };

const dev = fc.integer({ min: 0, max: DEVICES - 1 });
const key = fc.constantFrom(...KEYS);
const command: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ t: fc.constant('edit' as const), dev, key, kind: fc.constantFrom('put' as const, 'put' as const, 'empty' as const, 'remove' as const) }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('sync' as const), dev }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('syncWithEdit' as const), dev, key, hops: fc.integer({ min: 0, max: 6 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('race' as const), a: dev, b: dev }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('network' as const), dev }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('delete' as const), dev }) },
  { weight: 1, arbitrary: fc.constant({ t: 'login' as const }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('restart' as const), dev }) },
);

/** Schedules that once failed (each found by this property), run first every time. */
const REGRESSIONS: Cmd[][] = [
  // An equal value written later here was absorbed with the server's older time, then lost to a middle write.
  [{ t: 'edit', dev: 0, key: 'b', kind: 'empty' }, { t: 'edit', dev: 2, key: 'b', kind: 'put' }, { t: 'edit', dev: 1, key: 'b', kind: 'empty' },
    { t: 'edit', dev: 0, key: 'a', kind: 'put' }, { t: 'sync', dev: 0 }, { t: 'login' }],
  // A copy that pushed into a deleted dataset stayed at count 0 and missed the next deletion.
  [{ t: 'login' }, { t: 'delete', dev: 0 }, { t: 'delete', dev: 2 }, { t: 'syncWithEdit', dev: 1, key: 'a', hops: 0 }, { t: 'network', dev: 0 },
    { t: 'edit', dev: 0, key: 'a', kind: 'put' }, { t: 'edit', dev: 0, key: 'a', kind: 'put' }, { t: 'race', a: 0, b: 0 }],
  // A guest's pending deletion was dropped by the merge, and its old server copy came back.
  [{ t: 'edit', dev: 1, key: 'a', kind: 'put' }, { t: 'edit', dev: 0, key: 'a', kind: 'put' }, { t: 'edit', dev: 1, key: 'a', kind: 'put' },
    { t: 'delete', dev: 1 }],
  // A login that failed offline left the client without an identity.
  [{ t: 'network', dev: 1 }, { t: 'edit', dev: 0, key: 'a', kind: 'put' }, { t: 'login' }],
  // A deletion between a device's listing and its push was hidden by fast-forwarding past the push.
  [{ t: 'sync', dev: 2 }, { t: 'syncWithEdit', dev: 0, key: 'a', hops: 0 }, { t: 'delete', dev: 2 }, { t: 'edit', dev: 0, key: 'd', kind: 'put' },
    { t: 'edit', dev: 0, key: 'd', kind: 'put' }, { t: 'race', a: 0, b: 2 }],
  // Edits made while a sync runs.
  [{ t: 'sync', dev: 1 }, { t: 'sync', dev: 0 }, { t: 'syncWithEdit', dev: 0, key: 'a', hops: 0 }, { t: 'edit', dev: 1, key: 'c', kind: 'put' },
    { t: 'syncWithEdit', dev: 1, key: 'c', hops: 3 }],
];

interface Edit { key: string; value: string | null; time: number; byGuest: boolean }

let t: TestServer;
let poolId: string;
let login: (sub: string) => Promise<Record<string, string>>;
let close: () => Promise<void>;
let runs = 0;
beforeAll(async () => {
  // One pool for every run (an account holds at most 1,000 pools); each run has its own user and guest identities.
  ({ t, poolId, login, close } = await startServerWithLogins('login.pbt.test', 'pbt-app'));
});
afterAll(async () => {
  await close();
  console.log(`convergence property: ${runs} random schedules run`);
});

/** One random schedule, its logical clock and the model of what was acknowledged. */
class World {
  clock = Date.UTC(2026, 0, 1);
  readonly edits: Edit[] = [];
  lastDeleteAt = 0;
  readonly devices: Device[] = [];
  readonly datasets: Dataset[] = [];
  guestSignedIn = false;
  private counter = 0;

  constructor(readonly poolId: string, readonly user: string) {}

  readonly now = () => (this.clock += 1000);

  async start(): Promise<void> {
    for (let i = 0; i < DEVICES; i++) {
      const d = await this.boot(i, new MemoryStore());
      this.devices.push(d);
      this.datasets.push(await d.client.openDataset(DATASET));
    }
  }

  /** A device's app starting on its store: signed in, except the guest until it has signed in. */
  async boot(i: number, store: LocalStore): Promise<Device> {
    const logins = i === GUEST && !this.guestSignedIn ? undefined : await this.login();
    return device(t, this.poolId, { store, now: this.now, retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 4 }, ...(logins ? { logins } : {}) });
  }

  /** The app closes and starts again on the same store (offline stays offline): nothing stored may be lost. */
  async restart(i: number): Promise<void> {
    const old = this.devices[i]!;
    await old.client.close();
    old.network.handler.destroy();
    const d = await this.boot(i, reopened(old.store));
    d.network.online = old.network.online;
    this.devices[i] = d;
    this.datasets[i] = await d.client.openDataset(DATASET);
  }

  login() {
    return login(this.user);
  }

  async edit(i: number, k: string, kind: 'put' | 'empty' | 'remove'): Promise<void> {
    const ds = this.datasets[i]!;
    const before = this.clock;
    const value = kind === 'remove' ? null : kind === 'empty' ? '' : `d${i}-${++this.counter}`;
    const done = value === null ? ds.remove(k) : ds.put(k, value);
    const stamped = this.clock !== before;
    await done; // acknowledged: in the local store
    if (stamped) this.edits.push({ key: k, value, time: before + 1000, byGuest: i === GUEST && !this.guestSignedIn });
  }

  /** A synchronize() that may fail (offline, retries used up); a delete it carried counts from its start. */
  async sync(i: number, during?: () => Promise<void>): Promise<SyncResult | undefined> {
    const ds = this.datasets[i]!;
    const deleting = ds.pendingDeletion();
    const startedAt = this.now();
    const running = ds.synchronize().then((r) => r, () => undefined);
    if (during) await during();
    const result = await running;
    if (deleting && !ds.pendingDeletion()) this.lastDeleteAt = Math.max(this.lastDeleteAt, startedAt);
    return result;
  }

  async signIn(): Promise<void> {
    if (this.guestSignedIn) return;
    const d = this.devices[GUEST]!;
    // A guest's pending dataset deletion is carried out before the merge: it counts from the login.
    const deleting = this.datasets[GUEST]!.pendingDeletion();
    const startedAt = this.now();
    const change = await d.client.login(await this.login()).catch(() => undefined);
    if (deleting && !this.datasets[GUEST]!.pendingDeletion()) this.lastDeleteAt = Math.max(this.lastDeleteAt, startedAt);
    if (!change) return;
    this.guestSignedIn = true;
    this.datasets[GUEST] = await d.client.openDataset(DATASET);
  }

  async run(cmd: Cmd): Promise<void> {
    switch (cmd.t) {
      case 'edit': return this.edit(cmd.dev, cmd.key, cmd.kind);
      case 'sync': { await this.sync(cmd.dev); return; }
      case 'syncWithEdit':
        await this.sync(cmd.dev, async () => {
          for (let h = 0; h < cmd.hops; h++) await new Promise((r) => setImmediate(r));
          await this.edit(cmd.dev, cmd.key, 'put');
        });
        return;
      case 'race': { await Promise.all([this.sync(cmd.a), this.sync(cmd.b)]); return; }
      case 'network': { const n = this.devices[cmd.dev]!.network; n.online = !n.online; return; }
      case 'delete': return this.datasets[cmd.dev]!.delete();
      case 'login': return this.signIn();
      case 'restart': return this.restart(cmd.dev);
    }
  }

  /** Everyone online and signed in; sync in turn until a whole pass changes nothing. */
  async settle(): Promise<void> {
    for (const d of this.devices) d.network.online = true;
    await this.signIn();
    expect(this.guestSignedIn).toBe(true);
    for (let pass = 0; pass < 8; pass++) {
      let changed = 0;
      for (let i = 0; i < DEVICES; i++) {
        const r = await this.sync(i);
        if (!r) throw new Error(`device ${i} failed to sync while online`);
        changed += r.pulled.length + r.pushed.length + r.requests.deleteDataset + Number(r.remoteDeleted);
      }
      if (changed === 0) return;
    }
    throw new Error('devices did not settle within 8 passes');
  }

  async check(): Promise<void> {
    const identityId = await this.devices[0]!.client.identityId();
    const { sync } = clients(t);
    const ref = { IdentityPoolId: this.poolId, IdentityId: identityId };
    const listed = await sync.send(new ListRecordsCommand({ ...ref, DatasetName: DATASET }));
    const server = Object.fromEntries((listed.Records ?? []).filter((r) => r.Value !== undefined).map((r) => [r.Key, r.Value]));
    for (const ds of this.datasets) expect(ds.getAll()).toEqual(server);
    const names = ((await sync.send(new ListDatasetsCommand(ref))).Datasets ?? []).map((d) => d.DatasetName);
    expect(names.filter((n) => n !== DATASET)).toEqual([]);
    for (const k of KEYS) this.checkKey(k, server[k]);
  }

  private checkKey(k: string, final: string | undefined): void {
    const edits = this.edits.filter((e) => e.key === k);
    const latest = edits.reduce<Edit | undefined>((a, e) => (a && a.time > e.time ? a : e), undefined);
    const strict = latest && latest.time > this.lastDeleteAt && !(latest.byGuest && latest.value === null);
    if (strict) {
      expect(final ?? null, `key ${k}: latest acknowledged edit at ${latest.time}`).toBe(latest.value);
    } else if (final !== undefined) {
      expect(edits.map((e) => e.value), `key ${k} holds a value nobody wrote`).toContain(final);
    }
  }

  close(): void {
    for (const d of this.devices) d.network.handler.destroy();
  }
}

it(`devices converge with no acknowledged change lost (${RUNS} random schedules)`, async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(command, { minLength: 4, maxLength: 40 }), async (cmds) => {
      runs += 1;
      const world = new World(poolId, `user-${runs}`);
      try {
        await world.start();
        for (const cmd of cmds) await world.run(cmd);
        await world.settle();
        await world.check();
      } finally {
        world.close();
      }
    }),
    { numRuns: RUNS, examples: REGRESSIONS.map((r) => [r]) },
  );
}, 600_000);
