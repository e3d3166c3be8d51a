import cluster, { type Worker } from 'node:cluster';
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import { createServer, listenOrClose, logMigrations, type CosyncServer, type DeveloperCredentials } from './server.js';
import type { ServerKeys } from './auth/server-keys.js';
import { openStore } from './storage/index.js';

/**
 * `cosync serve --workers N`: N server processes share one port through node:cluster, so one machine's cores all
 * serve. Each worker is a whole Cosync instance (its own event loop, database connections and caches) on the one
 * database, exactly as instances behind a load balancer are: SQLite serialises their writes with its file lock (the
 * adapter waits for it without blocking its event loop), PostgreSQL with its row locks. What stays per worker is
 * what stays per instance: throttling buckets and the Sync Trigger concurrency limit (docs/configuration.md).
 *
 * The primary process serves nothing. It migrates the database once before any worker opens it, hands new
 * connections to the workers, replaces a worker that dies after it served, and on SIGINT/SIGTERM tells every
 * worker to stop accepting, finish what is in flight and close the database. A worker that fails that stop, or
 * that could not be replaced, fails the stop of the whole pool, so the command exits non-zero: a supervisor must
 * not take a stop that may have left a database unclosed for a clean one.
 */

type WorkerMessage = { type: 'cosync:listening'; url: string };
const SHUTDOWN = { type: 'cosync:shutdown' } as const;

export interface WorkerPool {
  /** The URL the workers listen on (with --port 0, the port the first worker was given; all share it). */
  readonly url: string;
  /**
   * Stops every worker gracefully. Resolves when all have exited with code 0; once all have exited, rejects naming
   * each worker that exited otherwise (a non-zero code, a signal) during the stop or, before it, could not be
   * replaced. Each such failure is also logged when it happens. Idempotent.
   */
  stop(): Promise<void>;
}

/** In the primary: migrates, forks `config.workers` workers and resolves once every one of them listens. */
export async function startWorkerPool(config: Config, logger: Logger): Promise<WorkerPool> {
  if (config.storage.engine === 'sqlite' && config.storage.locking === 'exclusive') {
    // loadConfig never gives this; a configuration built in code could, and every worker would then fail to open.
    throw new Error('workers share the SQLite file: its locking must be shared, not exclusive');
  }
  // Migrations run here, once, so that workers starting together never race a schema change.
  await (await openStore(config.storage, { onMigrated: logMigrations(logger) })).close();
  const workers = new Set<Worker>();
  /** Workers that said they listen; only they are sure to have their stop handler installed. */
  const serving = new WeakSet<Worker>();
  let stopping: Promise<void> | undefined;
  /** What went wrong with the workers, one sentence each, for stop() to reject with. */
  const failures: string[] = [];

  const fork = (): Promise<string> => {
    const worker = cluster.fork();
    workers.add(worker);
    return new Promise<string>((resolve, reject) => {
      worker.on('message', (msg: WorkerMessage) => {
        if (msg?.type !== 'cosync:listening') return;
        serving.add(worker);
        resolve(msg.url);
      });
      worker.once('exit', (code, signal) => {
        workers.delete(worker);
        if (stopping) return;
        if (!serving.has(worker)) {
          reject(new Error(`worker ${worker.process.pid} exited with ${signal ?? code} before it listened`));
          return;
        }
        // A worker that served and then died (a crash, the OOM killer) is replaced; its in-flight requests failed
        // with a reset connection, which every AWS client retries.
        logger.error({ pid: worker.process.pid, code, signal }, 'worker exited; starting a replacement');
        fork().catch((err: unknown) => {
          logger.error({ err }, 'replacement worker failed to start');
          failures.push(`a replacement for worker ${worker.process.pid} failed to start (${(err as Error).message})`);
        });
      });
    });
  };

  const stop = (): Promise<void> => {
    stopping ??= Promise.all([...workers].map((w) => stopWorker(w, serving.has(w), logger))).then((ends) => {
      failures.push(...ends.filter((end) => end !== undefined));
      if (failures.length > 0) throw new Error(failures.join('; '));
    });
    return stopping;
  };

  try {
    const urls = await Promise.all(Array.from({ length: config.workers }, fork));
    return { url: urls[0]!, stop };
  } catch (error) {
    // The start's own error is the one to report; workers ended half-started say nothing more.
    await stop().catch(() => {});
    throw error;
  }
}

/**
 * Stops one worker: a serving one is told to stop gracefully, one still starting (which serves nothing yet and may
 * not hear a message) is sent SIGTERM. Resolves once it has exited: with nothing when it stopped as asked, else with
 * a sentence naming it and how it ended, which is logged too.
 */
function stopWorker(worker: Worker, isServing: boolean, logger: Logger): Promise<string | undefined> {
  return new Promise((resolve) => {
    const ended = (code: number | null, signal: string | null) => {
      // The SIGTERM sent to a worker still starting may end it before it handles the signal.
      if (code === 0 || (!isServing && signal === 'SIGTERM')) return resolve(undefined);
      const how = signal === null ? `exited with code ${code}` : `was killed by ${signal}`;
      const failure = `worker ${worker.process.pid} ${how} during the stop`;
      logger.error({ pid: worker.process.pid, code, signal }, failure);
      resolve(failure);
    };
    if (worker.isDead()) return ended(worker.process.exitCode, worker.process.signalCode);
    worker.once('exit', ended);
    if (isServing) worker.send(SHUTDOWN);
    else worker.process.kill('SIGTERM');
  });
}

export interface WorkerOptions {
  readonly config: Config;
  readonly developerCredentials: DeveloperCredentials;
  readonly serverKeys: ServerKeys;
  readonly logger: Logger;
}

/**
 * In a worker: serves until the primary says stop (or goes away), then closes gracefully and exits. When the
 * server cannot start (a port in use, a configuration it refuses), it rejects with that error, as the single
 * process does, having closed what it opened and left the cluster: the process then exits by itself (bin/cosync.js
 * prints the error and sets exit code 1), and the primary, seeing it exit before it listened, fails the start.
 */
export async function runWorker(options: WorkerOptions): Promise<void> {
  const { logger } = options;
  // Listen for the stop before starting: a replacement worker may be told to stop while it is still starting.
  let stopRequested: string | undefined;
  let stop = (reason: string) => {
    stopRequested ??= reason;
  };
  process.on('message', (msg: unknown) => {
    if ((msg as { type?: unknown } | null)?.type === SHUTDOWN.type) stop('shutdown');
  });
  // Ctrl-C reaches the whole process group: the primary decides, and tells each worker.
  process.on('SIGINT', () => {});
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('disconnect', () => stop('primary gone'));

  let server: CosyncServer;
  let url: string;
  try {
    server = await createServer(options);
    url = await listenOrClose(server);
  } catch (err) {
    leaveCluster();
    throw err;
  }
  let closing = false;
  stop = (reason: string) => {
    if (closing) return;
    closing = true;
    logger.debug({ pid: process.pid, reason }, 'worker stopping');
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'worker shutdown failed');
        process.exit(1);
      },
    );
  };
  if (stopRequested !== undefined) stop(stopRequested);
  else process.send?.({ type: 'cosync:listening', url } satisfies WorkerMessage);
}

/**
 * Closes the IPC channel to the primary, which alone would keep a worker whose start failed alive for ever.
 * Through cluster.worker.disconnect(), not process.disconnect(): on a channel closed by other means, node:cluster
 * takes the primary for gone and calls process.exit(0), which would hide the failure from the primary.
 */
function leaveCluster(): void {
  if (process.connected) cluster.worker?.disconnect();
}
