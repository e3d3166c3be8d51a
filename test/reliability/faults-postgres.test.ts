import { createServer, Socket, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { CreateIdentityPoolCommand, GetIdCommand } from '@aws-sdk/client-cognito-identity';
import type { CognitoSyncClient } from '@aws-sdk/client-cognito-sync';
import { clients, startServer, type TestServer } from '../helpers/server.js';
import {
  createTestSchema, describeWithPostgres, PG_URL, pgTarget, viaPort, type TestSchema,
} from '../storage/postgres-support.js';
import { DatasetWriter, httpStatusOf, INCONSISTENT_DATASETS_SQL, seededRandom, sleep } from './support.js';

/**
 * PostgreSQL going away under load. Cosync reaches the database through a TCP proxy in the test, which can cut
 * every connection and refuse new ones (the database is down) and later listen again (it is back), and which knows
 * the ports of its connections to the database, so the test can also have the database terminate exactly this
 * server's sessions (what a restart or a failover does to them) without touching anyone else's.
 *
 * While writers push UpdateRecords: every request that fails must fail with an AWS-shaped 500
 * InternalErrorException (never a hang, a dropped connection or another error); every write, failed or not, is all
 * or nothing; writes succeed again once the database is reachable, without restarting the server; and the stored
 * counts and sizes agree with the records.
 */

interface Proxy {
  readonly port: number;
  /** Local ports of the proxy's connections to the database (client_port in pg_stat_activity). */
  upstreamPorts(): number[];
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

async function startProxy(target: { host: string; port: number }): Promise<Proxy> {
  const pairs = new Set<[Socket, Socket]>();
  let server: Server | undefined;
  let port = 0;
  const listen = () => new Promise<void>((resolve, reject) => {
    const s = createServer((client) => {
      const upstream = new Socket();
      const pair: [Socket, Socket] = [client, upstream];
      pairs.add(pair);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        pairs.delete(pair);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      upstream.connect(target.port, target.host);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => {
      server = s;
      port = (s.address() as { port: number }).port;
      resolve();
    });
  });
  const stop = async () => {
    for (const [client, upstream] of pairs) {
      client.destroy();
      upstream.destroy();
    }
    pairs.clear();
    const s = server;
    server = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  await listen();
  return {
    get port() {
      return port;
    },
    upstreamPorts: () => [...pairs].map(([, upstream]) => upstream.localPort).filter((p): p is number => p !== undefined),
    cut: stop,
    restore: listen,
    close: stop,
  };
}

interface Failure { readonly name: string; readonly status: number | undefined; readonly message: string }

/**
 * Writers pushing in a loop. A write whose request failed stays in flight and is checked (read back: all or
 * nothing) before the writer's next push; reads fail too while the database is away, and are simply retried.
 * Every failure must have an HTTP status (the server answered); the first without one, or a failed check, ends
 * the load with that error.
 */
function runLoad(sync: CognitoSyncClient, writers: DatasetWriter[]) {
  let stopped = false;
  const failures: Failure[] = [];
  const acks = () => writers.reduce((n, w) => n + w.acks, 0);
  const loops = writers.map(async (w) => {
    while (!stopped) {
      try {
        if (w.inFlight) await w.verify(sync);
        await w.push(sync);
      } catch (error) {
        const status = httpStatusOf(error);
        if (status === undefined) throw error;
        failures.push({ name: (error as Error).name, status, message: (error as Error).message });
        await sleep(20);
      }
    }
  });
  return {
    failures,
    acks,
    /** Resolves once every writer has had a write acknowledged after this call (the service is back for all). */
    async everyWriterAcks(): Promise<void> {
      const from = writers.map((w) => w.acks);
      while (writers.some((w, i) => w.acks === from[i])) await sleep(20);
    },
    async stop() {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

describeWithPostgres('PostgreSQL unavailable under load', 'reliability/faults-postgres.test.ts', () => {
  let schema: TestSchema;
  let proxy: Proxy;
  let t: TestServer;
  type LogLine = { level: number; msg: string; unloggedSinceLast?: number };
  const logLines: LogLine[] = [];

  beforeAll(async () => {
    schema = await createTestSchema('faults');
    proxy = await startProxy(pgTarget(PG_URL));
    t = await startServer({
      logger: pino({ level: 'warn' }, { write: (line: string) => void logLines.push(JSON.parse(line) as LogLine) }),
      config: {
        storage: {
          engine: 'postgres', url: viaPort(schema.url, proxy.port), poolSize: 4, statementTimeoutMs: 2000, connectTimeoutMs: 1000,
        },
      },
    });
  });
  afterAll(async () => {
    await t?.close();
    await proxy?.close();
    await schema?.drop();
  });

  async function writers(seed: number): Promise<DatasetWriter[]> {
    const { identity } = clients(t);
    const random = seededRandom(seed);
    const { IdentityPoolId } = await identity.send(new CreateIdentityPoolCommand({
      IdentityPoolName: `faults_${seed}`, AllowUnauthenticatedIdentities: true,
    }));
    const all: DatasetWriter[] = [];
    for (let i = 0; i < 3; i++) {
      const { IdentityId } = await identity.send(new GetIdCommand({ IdentityPoolId }));
      for (const DatasetName of ['alpha', 'beta']) {
        all.push(new DatasetWriter({ IdentityPoolId: IdentityPoolId!, IdentityId: IdentityId!, DatasetName }, random));
      }
    }
    return all;
  }

  /** Reads every writer's dataset back (all or nothing for anything in flight) and checks the stored figures. */
  async function checkAll(sync: CognitoSyncClient, all: DatasetWriter[]): Promise<void> {
    for (const w of all) await w.verify(sync);
    expect((await schema.query(INCONSISTENT_DATASETS_SQL)).rows).toEqual([]);
  }

  it('while the database is down requests answer 500 InternalErrorException; writes resume when it is back', async () => {
    const all = await writers(1);
    const { sync } = clients(t);
    const load = runLoad(sync, all);
    await load.everyWriterAcks();
    await sleep(200);
    const linesBefore = logLines.length;
    await proxy.cut();
    const ackedBeforeOutage = load.acks();
    await sleep(1000);
    const failuresInOutage = load.failures.length;
    const outageLog = logLines.slice(linesBefore);
    const ackedInOutage = load.acks() - ackedBeforeOutage;
    await proxy.restore();
    await load.everyWriterAcks();
    const ackedAfter = load.acks() - ackedBeforeOutage - ackedInOutage;
    await load.stop();
    console.info(`[faults postgres] outage: ${ackedBeforeOutage} writes before, ${failuresInOutage} requests failed during, `
      + `${ackedAfter} writes after`);

    expect(ackedBeforeOutage).toBeGreaterThan(0);
    expect(failuresInOutage).toBeGreaterThan(0);
    expect(ackedInOutage).toBeLessThanOrEqual(all.length);
    expect(ackedAfter).toBeGreaterThan(0);
    expect(new Set(load.failures.map((f) => `${f.status} ${f.name}`))).toEqual(new Set(['500 InternalErrorException']));
    // One error line says the database is unavailable, not one per failed request (an outage would flood the log);
    // warnings of idle connections lost are one per pooled connection.
    expect(outageLog.filter((l) => l.level >= 50).map((l) => l.msg)).toEqual([expect.stringMatching(/^the database is unavailable; requests fail/)]);
    await checkAll(sync, all);
  });

  it('terminated database sessions fail only the requests on them; the server carries on', async () => {
    const all = await writers(2);
    const { sync } = clients(t);
    const load = runLoad(sync, all);
    let terminated = 0;
    for (let round = 0; round < 4; round++) {
      await sleep(250);
      const ports = proxy.upstreamPorts();
      const { rows } = await schema.query(
        'SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE client_port = ANY($1::int[]) AND pid <> pg_backend_pid()',
        [ports],
      );
      terminated += rows.filter((r: { done: boolean }) => r.done).length;
    }
    const ackedBefore = load.acks();
    await load.everyWriterAcks();
    const ackedAfter = load.acks() - ackedBefore;
    await load.stop();
    console.info(`[faults postgres] ${terminated} sessions terminated: ${load.failures.length} requests failed, ${load.acks()} writes`);

    expect(terminated).toBeGreaterThan(0);
    expect(ackedAfter).toBeGreaterThan(0);
    for (const f of load.failures) expect(`${f.status} ${f.name}`).toBe('500 InternalErrorException');
    await checkAll(sync, all);
  });
});
