/**
 * Files that hold secrets in the data folder (developer credentials, server keys): written atomically with mode
 * 0600 and read back with a warning when other users can read them. Nothing here logs a secret.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

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
  await withTempFile(file, text, (temp) => rename(temp, file));
}

/**
 * Creates `file` with `text` unless it exists: false when another process created it first (read it instead). For
 * secrets generated on first start, which instances started together on one data folder would otherwise each
 * generate, the last rename winning while the others served with a secret kept nowhere.
 */
export async function createPrivateFile(file: string, text: string): Promise<boolean> {
  let created = true;
  await withTempFile(file, text, async (temp) => {
    try {
      // link() fails when the name exists, where rename() would replace it.
      await link(temp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      created = false;
    }
    await rm(temp, { force: true });
  });
  return created;
}

/** Writes `text` to a new temp file beside `file` (mode 0600, fsynced) and hands it to `place`. */
async function withTempFile(file: string, text: string, place: (temp: string) => Promise<void>): Promise<void> {
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await place(temp);
  } catch (err) {
    await rm(temp, { force: true });
    throw new Error(`cannot write ${file}: ${(err as Error).message}`);
  }
}

/**
 * Creates the data folder `dir` and the folders it needs, readable by their owner alone, or checks that it is a
 * folder; an error names the folder and the setting that chose it. Called by what reads or writes a file there, before it does, so that a start with
 * every secret in the environment (PostgreSQL) creates no folder at all. Folder by folder rather than
 * `mkdir({ recursive: true })`, which on Node 20 never returns for a path it cannot create under a pseudo file system
 * (e.g. /proc/x).
 */
export async function makePrivateFolder(dir: string): Promise<void> {
  try {
    await makeFolder(dir);
  } catch (err) {
    throw new Error(`cannot use ${dir} as the data folder (--data, COSYNC_DATA): ${(err as Error).message}`);
  }
}

async function makeFolder(dir: string): Promise<void> {
  try {
    await mkdir(dir, { mode: 0o700 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      if (!(await stat(dir)).isDirectory()) throw new Error('it exists and is not a folder');
      return;
    }
    if (code !== 'ENOENT' || dirname(dir) === dir) throw err;
    await makeFolder(dirname(dir));
    await mkdir(dir, { mode: 0o700 });
  }
}
