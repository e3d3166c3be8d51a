import { loadConfig, SETTINGS } from './config.js';
import { createServer } from './server.js';
import { createLogger } from './logger.js';
import { formatCredentialsBanner, loadDeveloperCredentials } from './auth/developer-credentials.js';
import { loadServerKeys } from './auth/server-keys.js';

const USAGE = `Usage: cosync serve [options]

Options (each also settable by the environment variable shown):
${SETTINGS.map((s) => `  --${s.flag.padEnd(28)} ${s.env}`).join('\n')}
`;

/** The `cosync` command line. Only `serve` exists for now. */
export async function main(args: string[]): Promise<void> {
  const [command, ...rest] = args;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(USAGE);
    return;
  }
  if (command !== 'serve') throw new Error(`unknown command '${command}'\n\n${USAGE}`);
  const config = loadConfig(rest, process.env);
  const logger = createLogger(config.logLevel);
  const credentials = await loadDeveloperCredentials({ dataDir: config.dataDir, env: process.env, log: logger });
  const serverKeys = await loadServerKeys({ dataDir: config.dataDir, env: process.env, log: logger });
  const server = await createServer({ config, developerCredentials: credentials, serverKeys, logger });
  const url = await server.listen();
  logger.info({ url, region: config.region, data: config.dataDir, storage: config.storage.engine }, 'cosync listening');
  if (credentials.generated) process.stdout.write(formatCredentialsBanner(credentials, url, config.region));
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing requests in flight');
    server.close().then(
      () => logger.info('stopped'),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exitCode = 1;
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}
