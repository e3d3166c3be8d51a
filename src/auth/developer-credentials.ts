/**
 * The long-term developer credentials (the "AWS account" that owns every identity pool): from the environment, else
 * from `<dataDir>/developer-credentials.json`, else generated once and stored there. Nothing here prints; the CLI
 * prints formatCredentialsBanner() when `generated` is true.
 */
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createPrivateFile, makePrivateFolder, readPrivateJson, writePrivateFile, type FileLog } from './private-file.js';

export interface DeveloperCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** 12 digits; what AWS writes as LastModifiedBy for developer writes. Stable across restarts. */
  readonly accountId: string;
  /** True only on the run that created the pair and wrote the file. */
  readonly generated: boolean;
  /**
   * True until the CLI has shown the generated pair once (markCredentialsShown): also on a later start when the
   * run that generated them failed before printing them (a port in use, a bad setting).
   */
  readonly bannerDue: boolean;
  /** The credentials file the pair was read from or written to; absent when it came from the environment. */
  readonly file?: string;
}

/** The subset of a pino logger used here; secrets are never passed to it. */
export type CredentialsLog = FileLog;

export interface LoadDeveloperCredentialsOptions {
  readonly dataDir: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly log?: CredentialsLog;
}

export const CREDENTIALS_FILE_NAME = 'developer-credentials.json';

interface StoredCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly accountId: string;
  /** False from generation until the banner was printed; absent in files written before it existed (printed). */
  readonly shown?: boolean;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const ACCOUNT_ID = /^\d{12}$/;
/**
 * Access key IDs that fit a signature's credential scope (`<key>/<date>/…`, in comma-separated parameters): no `/`,
 * `,`, white space (a secrets file's trailing newline) or control character; anything else an SDK sends as is.
 */
const ACCESS_KEY_ID = /^[^\s/,\x00-\x1f\x7f]{1,128}$/;

/**
 * Resolves the developer credentials. Throws an Error with a message fit for the operator (startup aborts) when only
 * one of COSYNC_ACCESS_KEY_ID / COSYNC_SECRET_ACCESS_KEY is set, when COSYNC_ACCOUNT_ID is not 12 digits, or when the
 * credentials file cannot be read or is malformed. An empty variable counts as unset, as in config.ts.
 */
export async function loadDeveloperCredentials(opts: LoadDeveloperCredentialsOptions): Promise<DeveloperCredentials> {
  const { dataDir, env, log } = opts;
  const accountOverride = setting(env, 'COSYNC_ACCOUNT_ID');
  if (accountOverride !== undefined && !ACCOUNT_ID.test(accountOverride)) {
    throw new Error(`COSYNC_ACCOUNT_ID must be 12 digits, got '${accountOverride}'`);
  }
  const accessKeyId = setting(env, 'COSYNC_ACCESS_KEY_ID');
  const secretAccessKey = setting(env, 'COSYNC_SECRET_ACCESS_KEY');
  if (accessKeyId !== undefined || secretAccessKey !== undefined) {
    if (accessKeyId === undefined || secretAccessKey === undefined) {
      const [set, unset] = accessKeyId === undefined
        ? ['COSYNC_SECRET_ACCESS_KEY', 'COSYNC_ACCESS_KEY_ID']
        : ['COSYNC_ACCESS_KEY_ID', 'COSYNC_SECRET_ACCESS_KEY'];
      throw new Error(`${set} is set but ${unset} is not: set both to use your own developer credentials, or neither ` +
        `to use (or generate) ${join(dataDir, CREDENTIALS_FILE_NAME)}`);
    }
    // The key goes into every signature's credential scope (`<key>/<date>/<region>/…`): a `/` there, or a space,
    // would make every signed call fail, long after a start that looked fine.
    if (!ACCESS_KEY_ID.test(accessKeyId)) {
      throw new Error(`COSYNC_ACCESS_KEY_ID must be 1 to 128 characters without '/', ',', spaces or control characters, got ${JSON.stringify(accessKeyId)}`);
    }
    log?.info(`developer credentials ${accessKeyId} from COSYNC_ACCESS_KEY_ID / COSYNC_SECRET_ACCESS_KEY`);
    return {
      accessKeyId, secretAccessKey, accountId: accountOverride ?? accountIdFor(accessKeyId), generated: false, bannerDue: false,
    };
  }

  await makePrivateFolder(dataDir);
  const file = join(dataDir, CREDENTIALS_FILE_NAME);
  const stored = await readStored(file, log);
  if (stored !== undefined) {
    log?.info(`developer credentials ${stored.accessKeyId} from ${file}`);
    const { shown, ...pair } = stored;
    return { ...pair, accountId: accountOverride ?? stored.accountId, generated: false, bannerDue: shown === false, file };
  }
  const fresh = generateCredentials();
  // Another instance starting on this folder at the same moment may have created the file first: theirs is used.
  if (!(await createPrivateFile(file, storedText({ ...fresh, shown: false })))) return loadDeveloperCredentials(opts);
  log?.info(`generated developer credentials ${fresh.accessKeyId}; stored in ${file}`);
  return { ...fresh, accountId: accountOverride ?? fresh.accountId, generated: true, bannerDue: true, file };
}

/** Records in the credentials file that the banner was shown, so that later starts do not print the secret again. */
export async function markCredentialsShown(creds: DeveloperCredentials): Promise<void> {
  if (creds.file === undefined || !creds.bannerDue) return;
  const stored = await readStored(creds.file, undefined);
  if (stored === undefined || stored.accessKeyId !== creds.accessKeyId) return;
  const { shown: _shown, ...pair } = stored;
  await writeStored(creds.file, pair);
}

function writeStored(file: string, stored: StoredCredentials): Promise<void> {
  return writePrivateFile(file, storedText(stored));
}

function storedText(stored: StoredCredentials): string {
  return `${JSON.stringify(stored, null, 2)}\n`;
}

/** The text the CLI prints once after generating credentials: ready-to-paste exports and a first command to try. */
export function formatCredentialsBanner(
  creds: Pick<DeveloperCredentials, 'accessKeyId' | 'secretAccessKey' | 'accountId' | 'file'>,
  endpointUrl: string,
  region: string,
): string {
  const where = creds.file === undefined ? '' : ` (stored in ${creds.file})`;
  return [
    `Generated developer credentials for account ${creds.accountId}${where}. Use them with any AWS client:`,
    '',
    `  export AWS_ACCESS_KEY_ID=${creds.accessKeyId}`,
    `  export AWS_SECRET_ACCESS_KEY=${creds.secretAccessKey}`,
    '',
    'Then try:',
    '',
    `  aws cognito-sync list-identity-pool-usage --endpoint-url ${endpointUrl} --region ${region}`,
    '',
  ].join('\n');
}

function setting(env: LoadDeveloperCredentialsOptions['env'], name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

/** Reads the credentials file; undefined when it does not exist. A damaged file is an error, never overwritten. */
async function readStored(file: string, log: CredentialsLog | undefined): Promise<StoredCredentials | undefined> {
  const fix = 'fix it, or delete it to generate new credentials';
  const parsed = await readPrivateJson(file, fix, log);
  if (parsed === undefined) return undefined;
  const { accessKeyId, secretAccessKey, accountId, shown } = (parsed ?? {}) as Record<string, unknown>;
  if (typeof accessKeyId !== 'string' || accessKeyId === '' ||
      typeof secretAccessKey !== 'string' || secretAccessKey === '') {
    throw new Error(`${file} must hold non-empty "accessKeyId" and "secretAccessKey" strings; ${fix}`);
  }
  if (accountId !== undefined && (typeof accountId !== 'string' || !ACCOUNT_ID.test(accountId))) {
    throw new Error(`${file}: "accountId" must be a string of 12 digits; ${fix}`);
  }
  return {
    accessKeyId, secretAccessKey, accountId: accountId ?? accountIdFor(accessKeyId), ...(shown === false ? { shown } : {}),
  };
}

/** AWS-shaped: `AKIA` + 16 base32 characters, and a 40-character base64 secret (30 random bytes, so no padding). */
function generateCredentials(): StoredCredentials {
  // 256 is a multiple of 32, so masking a random byte picks each base32 character with equal probability.
  const accessKeyId = `AKIA${[...randomBytes(16)].map((byte) => BASE32[byte & 31]).join('')}`;
  const secretAccessKey = randomBytes(30).toString('base64');
  return { accessKeyId, secretAccessKey, accountId: accountIdFor(accessKeyId) };
}

/** A 12-digit account ID derived from the access key, so the same key always yields the same account. */
function accountIdFor(accessKeyId: string): string {
  const digest = createHash('sha256').update(`cosync-account:${accessKeyId}`).digest();
  return (digest.readBigUInt64BE(0) % 1_000_000_000_000n).toString().padStart(12, '0');
}
