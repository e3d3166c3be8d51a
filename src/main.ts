import { defaultConfig, loadConfig, SETTINGS, type Config } from './config.js';
import { createServer, listenOrClose } from './server.js';
import { createLogger, type Logger } from './logger.js';
import { formatCredentialsBanner, markCredentialsShown, loadDeveloperCredentials } from './auth/developer-credentials.js';
import { loadServerKeys, type ServerKeys } from './auth/server-keys.js';
import { warnIfReadableByOthers } from './auth/private-file.js';
import cluster from 'node:cluster';
import { existsSync, readFileSync } from 'node:fs';
import { runWorker, startWorkerPool } from './cluster.js';

/**
 * `cosync help`: the commands, then each setting of serve with its variable and its default, as loadConfig reads
 * them (SETTINGS and defaultConfig()), so the help cannot disagree with the parser.
 */
function usage(): string {
  const defaults = defaultConfig();
  const rows: Array<[flag: string, env: string, value: string]> = [
    ['option', 'environment variable', 'default'],
    ...SETTINGS.map((s): [string, string, string] => [`--${s.flag}`, s.env, String(s.default(defaults) ?? 'none')]),
  ];
  const flagWidth = Math.max(...rows.map(([flag]) => flag.length)) + 2;
  const envWidth = Math.max(...rows.map(([, env]) => env.length)) + 2;
  return `Usage: cosync serve [options]
       cosync version   (or --version) prints the version
       cosync help      (or --help) prints this

Options of serve, each also settable by its environment variable (a flag wins over its variable, a variable over
the default); docs/configuration.md explains them:
${rows.map(([flag, env, value]) => `  ${flag.padEnd(flagWidth)}${env.padEnd(envWidth)}${value}`).join('\n')}

Set in the environment only, so that no secret shows in a process listing:
  COSYNC_ACCESS_KEY_ID, COSYNC_SECRET_ACCESS_KEY   developer credentials (both or neither; generated into the data
                                                   folder when neither is set)
  COSYNC_SERVER_KEYS                               keys that sign identity credentials and OpenID tokens
                                                   (generated into the data folder when unset)
  COSYNC_ACCOUNT_ID                                the 12-digit account ID of developer writes
`;
}

/**
 * The text `cosync <args>` prints instead of serving (help, the version), or undefined when it is to serve.
 * Throws on an unknown command.
 */
function informationAsked([command, ...rest]: string[]): string | undefined {
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') return usage();
  if (command === 'version' || command === '--version') return `${packageVersion()}\n`;
  if (command !== 'serve') throw new Error(`unknown command '${command}'\n\n${usage()}`);
  if (rest.includes('--help') || rest.includes('-h')) return usage();
  return rest.includes('--version') ? `${packageVersion()}\n` : undefined;
}

/** The `cosync` command line: `serve`, and `version` and `help` about it. */
export async function main(args: string[]): Promise<void> {
  const information = informationAsked(args);
  if (information !== undefined) {
    process.stdout.write(information);
    return;
  }
  const rest = args.slice(1);
  const config = loadConfig(rest, process.env);
  const logger = createLogger(config.logLevel);
  // A worker forked by `--workers N` (src/cluster.ts) finds the files its primary wrote and prints nothing.
  const quiet = cluster.isWorker ? logger.child({}, { level: 'warn' }) : logger;
  const credentials = await loadDeveloperCredentials({ dataDir: config.dataDir, env: process.env, log: quiet });
  const serverKeys = await loadServerKeys({ dataDir: config.dataDir, env: process.env, log: quiet });
  // The SQLite file holds every user's data and the session-token key. Cosync creates it with mode 0600; a file made
  // otherwise (by hand, or by a version before that) keeps its mode, and SQLite gives its WAL the same.
  if (!cluster.isWorker && config.storage.engine === 'sqlite' && existsSync(config.storage.file)) {
    await warnIfReadableByOthers(config.storage.file, logger);
  }
  if (!cluster.isWorker && config.storage.engine === 'postgres') warnOfLocalSecrets(config, credentials, logger);
  if (cluster.isWorker) {
    await runWorker({ config, developerCredentials: credentials, serverKeys, logger });
    return;
  }
  const server = config.workers > 1
    ? await startWorkerPool(config, logger)
    : await startSingle(config, credentials, serverKeys, logger);
  logger.info({ url: server.url, region: config.region, data: config.dataDir, storage: config.storage.engine, workers: config.workers },
    'cosync listening');
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    // A second signal, whichever, is the operator (or a supervisor) no longer willing to wait: acknowledged writes are
    // already durable, so the process ends now, dropping the requests still in flight (their clients retry).
    if (stopping) {
      logger.warn({ signal }, 'second signal: stopping now, without waiting for the requests in flight');
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing requests in flight');
    server.stop().then(
      () => logger.info('stopped'),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exitCode = 1;
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  if (credentials.bannerDue) {
    // On stderr: stdout carries the JSON log lines, which log collectors keep, and logs never carry secret keys.
    process.stderr.write(formatCredentialsBanner(credentials, server.url, config.region));
    await markCredentialsShown(credentials);
  }
}

/** The version in package.json, read when asked, so that it cannot drift from the package that was installed. */
function packageVersion(): string {
  // dist/main.js and src/main.ts are both one folder below package.json.
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  if (typeof pkg.version !== 'string') throw new Error('package.json has no version');
  return pkg.version;
}

/**
 * Instances sharing a PostgreSQL database must share their server keys (which sign the credentials and tokens they
 * issue) and their developer credentials: keys one instance generated into its own data folder make another refuse
 * what the first issued, which behind a load balancer looks like random authentication failures.
 */
function warnOfLocalSecrets(
  config: Config, credentials: Awaited<ReturnType<typeof loadDeveloperCredentials>>, logger: Logger,
): void {
  const local = [
    ...(process.env['COSYNC_SERVER_KEYS'] ? [] : ['server keys (COSYNC_SERVER_KEYS)']),
    ...(credentials.file === undefined ? [] : ['developer credentials (COSYNC_ACCESS_KEY_ID, COSYNC_SECRET_ACCESS_KEY)']),
  ];
  if (local.length === 0) return;
  logger.warn(
    { data: config.dataDir },
    `the ${local.join(' and ')} come from this instance's data folder: every instance on this database must be given ` +
      'the same ones, or credentials and tokens issued by one are refused by another (docs/postgres.md)',
  );
}

/** The default: this process serves. A server that cannot listen is closed, so the failed start exits at once. */
async function startSingle(
  config: Config, developerCredentials: Awaited<ReturnType<typeof loadDeveloperCredentials>>, serverKeys: ServerKeys, logger: Logger,
): Promise<{ url: string; stop(): Promise<void> }> {
  const server = await createServer({ config, developerCredentials, serverKeys, logger });
  return { url: await listenOrClose(server), stop: () => server.close() };
}
