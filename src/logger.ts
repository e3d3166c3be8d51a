import { pino } from 'pino';
import type { Config } from './config.js';

export type Logger = pino.Logger;

/** JSON lines on stdout. Secrets never go through here: callers log IDs, never keys or tokens. */
export function createLogger(level: Config['logLevel']): Logger {
  return pino({ level, base: null, timestamp: pino.stdTimeFunctions.isoTime });
}
