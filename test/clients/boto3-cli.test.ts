/**
 * boto3 and the AWS CLI (Python, botocore) against the real server: they send no X-Amz-Content-Sha256, format
 * JSON with spaces and \u escapes, send timestamps as integers, and read errors their own way (WIRE §1.3–§3).
 * Skipped, with the reason, when python3 with boto3 or the `aws` command is not installed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { clients, poolWithIdentity } from '../helpers/server.js';
import { sharedServer } from '../helpers/shared-server.js';
import { put, write } from '../api/sync-helpers.js';

const hasBoto3 = spawnSync('python3', ['-c', 'import boto3'], { stdio: 'ignore' }).status === 0;
const hasCli = spawnSync('aws', ['--version'], { stdio: 'ignore' }).status === 0;
const NO_BOTO3 = 'skipped: python3 with boto3 is not installed';
const NO_CLI = 'skipped: the aws command (AWS CLI) is not installed';
/** The test's name, with the reason appended when it is skipped. */
const named = (name: string, available: boolean, reason: string) => (available ? name : `${name} (${reason})`);
const SCRIPT = fileURLToPath(new URL('./boto3_sync.py', import.meta.url));

const t = sharedServer();
let poolId: string;
let identityId: string;

beforeAll(async () => {
  ({ poolId, identityId } = await poolWithIdentity(t));
});

/** The environment of a fresh AWS user: only these credentials, no config or credentials files, no retries. */
function awsEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_')) env[k] = v;
  return {
    ...env,
    AWS_ACCESS_KEY_ID: t.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: t.credentials.secretAccessKey,
    AWS_DEFAULT_REGION: t.region,
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_RETRY_MODE: 'standard',
    AWS_MAX_ATTEMPTS: '1',
    AWS_PAGER: '',
    PYTHONIOENCODING: 'utf-8',
    ...extra,
  };
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('boto3', () => {
  it.skipIf(!hasBoto3)(named('ListRecords, UpdateRecords, 409 conflict, InvalidParameter, ListDatasets, DeleteDataset, GetId', hasBoto3, NO_BOTO3), async () => {
    const res = await run('python3', [SCRIPT], awsEnv({
      COSYNC_ENDPOINT: t.endpoint, COSYNC_POOL_ID: poolId, COSYNC_IDENTITY_ID: identityId,
    }));
    expect(res.status, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout) as Record<string, unknown>;

    expect(out['first']).toEqual({ Count: 0, DatasetSyncCount: 0, DatasetExists: false, hasToken: true });
    const updated = out['updated'] as Array<Record<string, unknown>>;
    expect(updated.map((r) => [r['Key'], r['Value'], r['SyncCount']])).toEqual([['name', 'v1 ü', 1], ['empty', '', 1]]);
    // botocore sends the datetime as integer epoch seconds and parses the numbers the server answers.
    expect(updated[0]?.['DeviceLastModifiedDate']).toBe(Date.UTC(2024, 0, 2, 3, 4, 5) / 1000);
    expect(updated[0]?.['LastModifiedDate']).toBeCloseTo(Date.now() / 1000, -2);
    expect(out['listed']).toMatchObject({ Count: 2, DatasetSyncCount: 1 });

    expect(out['conflict']).toMatchObject({
      code: 'ResourceConflictException', status: 409, class: 'ResourceConflictException',
      message: 'Current SyncCount for: name is: 1 not: 0', requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    expect(out['invalidParameter']).toMatchObject({ code: 'InvalidParameterException', status: 400, class: 'InvalidParameterException' });
    expect((out['invalidParameter'] as { message: string }).message).toContain("at 'datasetName' failed to satisfy constraint");

    expect(out['datasets']).toEqual([{ DatasetName: 'boto3_profile', NumRecords: 2, CreationDate: expect.any(Number) }]);
    expect(out['described']).toEqual({ DatasetName: 'boto3_profile', NumRecords: 2, DataStorage: Buffer.byteLength('name' + 'empty' + 'v1 ü') });
    expect(out['deleted']).toEqual({ DatasetName: 'boto3_profile' });
    expect(out['afterDelete']).toEqual({ DatasetExists: false, DatasetDeletedAfterRequestedSyncCount: true });
    expect(out['describeDeleted']).toMatchObject({ code: 'ResourceNotFoundException', status: 404 });

    expect(out['getId']).toMatch(/^us-east-1:/);
    expect(out['identityNotFound']).toMatchObject({ code: 'ResourceNotFoundException', status: 400, class: 'ResourceNotFoundException' });
  });
});

describe('AWS CLI', () => {
  const common = () => ['--endpoint-url', t.endpoint, '--region', t.region, '--output', 'json'];
  const ids = (dataset: string) => ['--identity-pool-id', poolId, '--identity-id', identityId, '--dataset-name', dataset];

  it.skipIf(!hasCli)(named('list-records and update-records', hasCli, NO_CLI), async () => {
    await write(clients(t).sync, { poolId, identityId, dataset: 'cli_ds' }, [put('greeting', 'grüß dich')]);
    const listed = await run('aws', ['cognito-sync', 'list-records', ...ids('cli_ds'), '--last-sync-count', '0', ...common()], awsEnv());
    expect(listed.status, listed.stderr).toBe(0);
    const out = JSON.parse(listed.stdout) as { Records: Array<Record<string, unknown>>; DatasetSyncCount: number; SyncSessionToken: string };
    expect(out.DatasetSyncCount).toBe(1);
    expect(out.Records.map((r) => [r['Key'], r['Value'], r['SyncCount']])).toEqual([['greeting', 'grüß dich', 1]]);

    const updated = await run('aws', [
      'cognito-sync', 'update-records', ...ids('cli_ds'), '--sync-session-token', out.SyncSessionToken,
      '--record-patches', JSON.stringify([{ Op: 'replace', Key: 'greeting', Value: 'servus', SyncCount: 1, DeviceLastModifiedDate: 1704164645.678 }]),
      ...common(),
    ], awsEnv());
    expect(updated.status, updated.stderr).toBe(0);
    expect((JSON.parse(updated.stdout) as { Records: Array<Record<string, unknown>> }).Records.map((r) => [r['Key'], r['Value'], r['SyncCount']]))
      .toEqual([['greeting', 'servus', 2]]);
  });

  it.skipIf(!hasCli)(named('a conflict exits with 254/255 and "An error occurred (ResourceConflictException)"', hasCli, NO_CLI), async () => {
    await write(clients(t).sync, { poolId, identityId, dataset: 'cli_conflict' }, [put('k', 'v')]);
    const listed = await run('aws', ['cognito-sync', 'list-records', ...ids('cli_conflict'), ...common()], awsEnv());
    const token = (JSON.parse(listed.stdout) as { SyncSessionToken: string }).SyncSessionToken;
    const res = await run('aws', [
      'cognito-sync', 'update-records', ...ids('cli_conflict'), '--sync-session-token', token,
      '--record-patches', '[{"Op":"replace","Key":"k","Value":"stale","SyncCount":0}]', ...common(),
    ], awsEnv());
    expect([254, 255]).toContain(res.status);
    // CLI v1 adds "(reached max retries: N)" before the colon.
    expect(res.stderr).toMatch(/An error occurred \(ResourceConflictException\) when calling the UpdateRecords operation( \(reached max retries: \d+\))?: Current SyncCount for: k is: 1 not: 0/);
  });

  it.skipIf(!hasCli)(named('a wrong secret: InvalidSignatureException', hasCli, NO_CLI), async () => {
    const res = await run('aws', ['cognito-sync', 'list-records', ...ids('cli_ds'), ...common()], awsEnv({ AWS_SECRET_ACCESS_KEY: 'wrong' }));
    expect([254, 255]).toContain(res.status);
    expect(res.stderr).toContain('An error occurred (InvalidSignatureException) when calling the ListRecords operation');
  });
});
