import { mkdtemp, mkdir, readdir, readFile, rm, stat, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, expect, vi, afterEach } from 'vitest';
import {
  CREDENTIALS_FILE_NAME,
  formatCredentialsBanner,
  loadDeveloperCredentials, markCredentialsShown,
  type CredentialsLog,
} from '../../src/auth/developer-credentials.js';
import { loadServerKeys } from '../../src/auth/server-keys.js';

const dirs: string[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cosync-creds-'));
  dirs.push(dir);
  return dir;
}

function recordingLog(): CredentialsLog & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => { lines.push(`info ${m}`); }, warn: (m) => { lines.push(`warn ${m}`); } };
}

const posix = process.platform !== 'win32';

describe('loadDeveloperCredentials', () => {
  it('gives every instance started together on one empty folder the same generated secrets', async () => {
    const dataDir = join(await tempDir(), 'data');
    const starts = await Promise.all(Array.from({ length: 8 }, () => loadDeveloperCredentials({ dataDir, env: {} })));
    expect(new Set(starts.map((c) => `${c.accessKeyId}:${c.secretAccessKey}`)).size).toBe(1);
    expect(starts.filter((c) => c.generated)).toHaveLength(1);
    const keys = await Promise.all(Array.from({ length: 8 }, () => loadServerKeys({ dataDir, env: {} })));
    expect(new Set(keys.map((k) => k.active.secret.toString('hex'))).size).toBe(1);
    // What the file holds is what they serve with, and no temporary file is left behind.
    expect((await loadDeveloperCredentials({ dataDir, env: {} })).accessKeyId).toBe(starts[0]!.accessKeyId);
    expect((await loadServerKeys({ dataDir, env: {} })).active.id).toBe(keys[0]!.active.id);
    expect((await readdir(dataDir)).sort()).toEqual([CREDENTIALS_FILE_NAME, 'server-keys.json']);
  });

  it('uses COSYNC_ACCESS_KEY_ID / COSYNC_SECRET_ACCESS_KEY when both are set, and writes nothing', async () => {
    const dataDir = join(await tempDir(), 'data');
    const env = { COSYNC_ACCESS_KEY_ID: 'AKIAENVKEY', COSYNC_SECRET_ACCESS_KEY: 'env/secret+1' };
    const creds = await loadDeveloperCredentials({ dataDir, env });
    expect(creds).toMatchObject({ accessKeyId: 'AKIAENVKEY', secretAccessKey: 'env/secret+1', generated: false });
    expect(creds.file).toBeUndefined();
    expect(creds.accountId).toMatch(/^\d{12}$/);
    // Stable: the same key gives the same account on every start.
    expect((await loadDeveloperCredentials({ dataDir, env })).accountId).toBe(creds.accountId);
    await expect(stat(dataDir)).rejects.toThrow(/ENOENT/);
  });

  it('refuses to start with only one of the two variables', async () => {
    const dataDir = await tempDir();
    // A key no signature scope can carry would fail every signed call after a start that looked fine.
    for (const bad of ['AKIA/SLASH', 'AKIA KEY', 'AKIA,X', 'AKIAKEY\n']) {
      await expect(loadDeveloperCredentials({ dataDir, env: { COSYNC_ACCESS_KEY_ID: bad, COSYNC_SECRET_ACCESS_KEY: 's' } }))
        .rejects.toThrow(/^COSYNC_ACCESS_KEY_ID must be 1 to 128 characters without/);
    }
    // Any other key an SDK can sign with still works.
    for (const good of ['dev.team@corp', 'key+1=a:b', 'AKIA_X-1']) {
      await expect(loadDeveloperCredentials({ dataDir, env: { COSYNC_ACCESS_KEY_ID: good, COSYNC_SECRET_ACCESS_KEY: 's' } }))
        .resolves.toMatchObject({ accessKeyId: good });
    }
    await expect(loadDeveloperCredentials({ dataDir, env: { COSYNC_ACCESS_KEY_ID: 'AKIAX' } }))
      .rejects.toThrow(/COSYNC_ACCESS_KEY_ID is set but COSYNC_SECRET_ACCESS_KEY is not/);
    await expect(loadDeveloperCredentials({ dataDir, env: { COSYNC_SECRET_ACCESS_KEY: 's', COSYNC_ACCESS_KEY_ID: '' } }))
      .rejects.toThrow(/COSYNC_SECRET_ACCESS_KEY is set but COSYNC_ACCESS_KEY_ID is not/);
  });

  it('generates AWS-shaped credentials once, stores them privately and atomically, and reads them back', async () => {
    const root = await tempDir();
    const dataDir = join(root, 'nested', 'data');
    const writes = vi.spyOn(process.stdout, 'write');
    const errWrites = vi.spyOn(process.stderr, 'write');
    const log = recordingLog();

    const first = await loadDeveloperCredentials({ dataDir, env: {}, log });
    expect(first.generated).toBe(true);
    expect(first.accessKeyId).toMatch(/^AKIA[A-Z2-7]{16}$/);
    expect(first.secretAccessKey).toMatch(/^[A-Za-z0-9+/]{40}$/);
    expect(first.accountId).toMatch(/^\d{12}$/);
    expect(first.file).toBe(join(dataDir, CREDENTIALS_FILE_NAME));

    const stored = JSON.parse(await readFile(first.file!, 'utf8')) as Record<string, string>;
    expect(stored).toEqual({
      accessKeyId: first.accessKeyId, secretAccessKey: first.secretAccessKey, accountId: first.accountId, shown: false,
    });
    expect(await readdir(dataDir)).toEqual([CREDENTIALS_FILE_NAME]); // no temp file left behind
    if (posix) {
      expect((await stat(first.file!)).mode & 0o777).toBe(0o600);
      expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
    }

    // Not shown yet (the first start failed before printing, say): the next start still owes the banner.
    const second = await loadDeveloperCredentials({ dataDir, env: {}, log });
    expect(second).toEqual({ ...first, generated: false, bannerDue: true });
    await markCredentialsShown(second);
    const third = await loadDeveloperCredentials({ dataDir, env: {}, log });
    expect(third).toEqual({ ...first, generated: false, bannerDue: false });
    expect(JSON.parse(await readFile(first.file!, 'utf8'))).toEqual({
      accessKeyId: first.accessKeyId, secretAccessKey: first.secretAccessKey, accountId: first.accountId,
    });
    if (posix) expect((await stat(first.file!)).mode & 0o777).toBe(0o600);

    expect(writes).not.toHaveBeenCalled();
    expect(errWrites).not.toHaveBeenCalled();
    expect(log.lines.join('\n')).not.toContain(first.secretAccessKey);
  });

  it('generates a different pair in a different data folder', async () => {
    const a = await loadDeveloperCredentials({ dataDir: await tempDir(), env: {} });
    const b = await loadDeveloperCredentials({ dataDir: await tempDir(), env: {} });
    expect(a.accessKeyId).not.toBe(b.accessKeyId);
    expect(a.secretAccessKey).not.toBe(b.secretAccessKey);
  });

  it('lets COSYNC_ACCOUNT_ID override the account ID, and rejects one that is not 12 digits', async () => {
    const dataDir = await tempDir();
    const generated = await loadDeveloperCredentials({ dataDir, env: { COSYNC_ACCOUNT_ID: '000000000042' } });
    expect(generated.accountId).toBe('000000000042');
    const read = await loadDeveloperCredentials({ dataDir, env: { COSYNC_ACCOUNT_ID: '111111111111' } });
    expect(read.accountId).toBe('111111111111');
    const fromEnv = await loadDeveloperCredentials({
      dataDir, env: { COSYNC_ACCESS_KEY_ID: 'A', COSYNC_SECRET_ACCESS_KEY: 'B', COSYNC_ACCOUNT_ID: '222222222222' },
    });
    expect(fromEnv.accountId).toBe('222222222222');
    await expect(loadDeveloperCredentials({ dataDir, env: { COSYNC_ACCOUNT_ID: '12345' } }))
      .rejects.toThrow("COSYNC_ACCOUNT_ID must be 12 digits, got '12345'");
  });

  it('reads a hand-written file (accountId optional) and warns when others can read it', async () => {
    const dataDir = await tempDir();
    const file = join(dataDir, CREDENTIALS_FILE_NAME);
    await writeFile(file, JSON.stringify({ accessKeyId: 'AKIAHAND', secretAccessKey: 'hand' }));
    if (posix) await chmod(file, 0o644);
    const log = recordingLog();
    const creds = await loadDeveloperCredentials({ dataDir, env: {}, log });
    expect(creds).toMatchObject({ accessKeyId: 'AKIAHAND', secretAccessKey: 'hand', generated: false, file });
    expect(creds.accountId).toMatch(/^\d{12}$/);
    if (posix) expect(log.lines.some((l) => l.startsWith('warn ') && l.includes('chmod 600'))).toBe(true);
  });

  it('refuses a damaged file instead of replacing it', async () => {
    const dataDir = await tempDir();
    const file = join(dataDir, CREDENTIALS_FILE_NAME);
    await writeFile(file, '{"accessKeyId": "AKIA');
    await expect(loadDeveloperCredentials({ dataDir, env: {} })).rejects.toThrow(/is not valid JSON .*delete it to generate/);
    await writeFile(file, JSON.stringify({ accessKeyId: 'AKIAX' }));
    await expect(loadDeveloperCredentials({ dataDir, env: {} })).rejects.toThrow(/"secretAccessKey"/);
    await writeFile(file, JSON.stringify({ accessKeyId: 'AKIAX', secretAccessKey: 's', accountId: 42 }));
    await expect(loadDeveloperCredentials({ dataDir, env: {} })).rejects.toThrow(/"accountId" must be a string of 12 digits/);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ accessKeyId: 'AKIAX', secretAccessKey: 's', accountId: 42 });
  });

  it('refuses a damaged server-keys file with its path, whatever its JSON holds', async () => {
    const dataDir = await tempDir();
    const file = join(dataDir, 'server-keys.json');
    for (const text of ['null', '{"keys":[null]}', '{"keys":[]}', '{"keys":[{"id":"a b","secret":"c2VjcmV0"}]}']) {
      await writeFile(file, text);
      await expect(loadServerKeys({ dataDir, env: {} }), text).rejects.toThrow(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*restore it from a backup`));
    }
  });

  it('reports a data folder it cannot create', async () => {
    const root = await tempDir();
    await writeFile(join(root, 'blocker'), 'not a folder');
    await expect(loadDeveloperCredentials({ dataDir: join(root, 'blocker', 'data'), env: {} })).rejects.toThrow();
    await mkdir(join(root, 'ok'));
    await expect(loadDeveloperCredentials({ dataDir: join(root, 'ok'), env: {} })).resolves.toMatchObject({ generated: true });
  });
});

describe('formatCredentialsBanner', () => {
  it('gives ready-to-paste exports and a first command', () => {
    const banner = formatCredentialsBanner(
      { accessKeyId: 'AKIAABCDEFGHIJKLMNOP', secretAccessKey: 'abc/def+ghi', accountId: '123456789012', file: '/d/f.json' },
      'http://127.0.0.1:8080',
      'eu-west-1',
    );
    const lines = banner.split('\n').map((l) => l.trim());
    expect(lines).toContain('export AWS_ACCESS_KEY_ID=AKIAABCDEFGHIJKLMNOP');
    expect(lines).toContain('export AWS_SECRET_ACCESS_KEY=abc/def+ghi');
    expect(lines).toContain('aws cognito-sync list-identity-pool-usage --endpoint-url http://127.0.0.1:8080 --region eu-west-1');
    expect(banner).toContain('/d/f.json');
    expect(banner).toContain('123456789012');
  });
});
