import { statSync } from 'node:fs';

/**
 * Notices that the database file was deleted or replaced while the server runs. SQLite keeps writing to the file it
 * opened, which no path reaches any more: every write would be acknowledged and then lost at the next start (and a
 * second server could open a new file at the same path, beside this one). Once noticed, the store fails every call
 * (InternalErrorException to clients, logged) instead: it is broken, and says why.
 */
export interface FileGuard {
  /** Compares the path with the file opened (one stat): throws, now and on every later call, when they differ. */
  check(): void;
  /** Throws when a check has already found the file gone; no system call. */
  assertIntact(): void;
  stop(): void;
}

/** How often the file is looked at besides after each write (reads only check what a look found). */
const CHECK_INTERVAL_MS = 1000;

export function guardDatabaseFile(file: string): FileGuard {
  const opened = statSync(file);
  let broken: Error | undefined;
  const check = (): void => {
    if (broken) throw broken;
    const now = statSync(file, { throwIfNoEntry: false });
    if (now && now.ino === opened.ino && now.dev === opened.dev) return;
    broken = new Error(
      `the SQLite database ${file} was ${now ? 'replaced' : 'deleted'} while the server ran: writes since then are ` +
      'lost, and nothing more is served from it. Restart the server (on a restored file, if it was not meant to go).',
    );
    throw broken;
  };
  const timer = setInterval(() => {
    try {
      check();
    } catch {
      // Reported by the calls that fail from now on.
    }
  }, CHECK_INTERVAL_MS);
  timer.unref();
  return {
    check,
    assertIntact() {
      if (broken) throw broken;
    },
    stop: () => clearInterval(timer),
  };
}

/** For a private in-memory database, which no path names. */
export const NO_FILE_GUARD: FileGuard = { check() {}, assertIntact() {}, stop() {} };
