/**
 * Files that hold secrets in the data folder (developer credentials, server keys): written atomically with mode
 * 0600 and read back with a warning when other users can read them. Nothing here logs a secret.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm, stat } from 'node:fs/promises';

/** The subset of a pino logger used here. */
export interface FileLog {
  info(msg: string): void;
  warn(msg: string): void;
}

/** Parsed JSON of `file`, or undefined when it does not exist. A damaged file is an Error naming the file. */
export async function readPrivateJson(file: string, fix: string, log: FileLog | undefined): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file} is not valid JSON (${(err as Error).message}); ${fix}`);
  }
  await warnIfReadableByOthers(file, log);
  return parsed;
}

/** Warns when other users may read or write `file` (which must exist). */
export async function warnIfReadableByOthers(file: string, log: FileLog | undefined): Promise<void> {
  if (process.platform === 'win32') return; // POSIX modes mean nothing there.
  const { mode } = await stat(file);
  if ((mode & 0o077) !== 0) {
    log?.warn(`${file} is accessible to other users (mode ${(mode & 0o777).toString(8)}); run chmod 600 on it`);
  }
}

/** Temp file (mode 0600, fsynced) then rename, so a crash never leaves a half-written secret file. */
export async function writePrivateFile(file: string, text: string): Promise<void> {
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw new Error(`cannot write ${file}: ${(err as Error).message}`);
  }
}
