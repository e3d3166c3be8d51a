/**
 * What the sync-triggers-*.test.ts files share: one server whose Sync Triggers can reach the loopback webhook
 * receiver, the Lambda-compatible endpoint and the fixture modules (support.ts), guests with identity credentials
 * through the official v3 clients (fromCognitoIdentityPool), and the steps of a synchronize() push.
 *
 * A test file calls useTriggerServer() once at its top level. `hooks`, `lambda` and `t` are live bindings that its
 * beforeAll sets and its afterAll closes: read them inside tests and hooks only. Each test file gets its own copy
 * of this module (vitest isolates files), so files never share a server.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import {
  ListRecordsCommand, SetCognitoEventsCommand, UpdateRecordsCommand, type CognitoSyncClient, type RecordPatch,
} from '@aws-sdk/client-cognito-sync';
import { CreateIdentityPoolCommand } from '@aws-sdk/client-cognito-identity';
import { defaultConfig, type Config } from '../../src/config.js';
import type { SyncTriggerConfig } from '../../src/triggers/config.js';
import { clients, startServer, type TestServer } from '../helpers/server.js';
import { poolCredentials, syncClient } from '../identity/support.js';
import {
  LAMBDA_CREDENTIALS, startLambdaEndpoint, startWebhookReceiver, WEBHOOK_SECRET, type Handler, type Target, type TriggerEvent,
} from './support.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/triggers/${name}.mjs`, import.meta.url));
const ACCOUNT = '123456789012';
export const lambdaArn = (name: string, region = 'us-east-1') => `arn:aws:lambda:${region}:${ACCOUNT}:function:${name}`;

export let hooks: Target;
export let lambda: Awaited<ReturnType<typeof startLambdaEndpoint>>;
export let t: TestServer;
let counter = 0;

function triggerConfig(over: Partial<SyncTriggerConfig> = {}): SyncTriggerConfig {
  return {
    ...defaultConfig().syncTriggers,
    lambda: { endpoint: lambda.url, region: null, ...LAMBDA_CREDENTIALS },
    webhook: { allowedHosts: ['127.0.0.1'], signingSecret: WEBHOOK_SECRET },
    modules: { upper: fixture('upper'), throws: fixture('throws'), hangs: fixture('hangs') },
    ...over,
  };
}

/** Another server whose triggers reach the same targets (the caller closes it). */
export async function server(over: Partial<SyncTriggerConfig> = {}, config: Partial<Config> = {}): Promise<TestServer> {
  return startServer({ config: { ...config, syncTriggers: triggerConfig(over) } });
}

/** Starts the targets and the shared server `t` before the file's tests and closes them after. */
export function useTriggerServer(): void {
  beforeAll(async () => {
    hooks = await startWebhookReceiver();
    lambda = await startLambdaEndpoint();
    t = await server({ timeoutMs: 3000, concurrency: 64 });
  });
  afterAll(async () => {
    await t.close();
    await hooks.close();
    await lambda.close();
  });
}

/** A unique name for this test's webhook path, Lambda function or dataset. */
export const unique = (prefix: string) => `${prefix}_${++counter}`;

export async function newPool(s = t): Promise<string> {
  const out = await clients(s).identity.send(new CreateIdentityPoolCommand({
    IdentityPoolName: unique('trigger_pool'), AllowUnauthenticatedIdentities: true,
  }));
  return out.IdentityPoolId ?? '';
}

export const setTrigger = (poolId: string, value: string, s = t) =>
  clients(s).sync.send(new SetCognitoEventsCommand({ IdentityPoolId: poolId, Events: { SyncTrigger: value } }));

/** A webhook trigger at a fresh path, set on the pool; returns the path's name. */
export async function webhook(poolId: string, handler: Handler, s = t): Promise<string> {
  const name = unique('hook');
  hooks.on(name, handler);
  await setTrigger(poolId, `${hooks.url}/${name}`, s);
  return name;
}

export async function lambdaFunction(poolId: string, handler: Handler, s = t): Promise<string> {
  const name = unique('fn');
  lambda.on(name, handler);
  await setTrigger(poolId, lambdaArn(name), s);
  return name;
}

export interface Device {
  readonly sync: CognitoSyncClient;
  readonly identityId: string;
  readonly ref: { IdentityPoolId: string; IdentityId: string; DatasetName: string };
}

/** A guest with identity credentials (GetId + GetCredentialsForIdentity through the SDK's provider). */
export async function guest(poolId: string, s = t, dataset = 'settings'): Promise<Device> {
  const provider = poolCredentials(s, poolId);
  const creds = await provider();
  const identityId = (creds as { identityId?: string }).identityId ?? '';
  return { sync: syncClient(s, provider), identityId, ref: { IdentityPoolId: poolId, IdentityId: identityId, DatasetName: dataset } };
}

export const put = (Key: string, Value: string, SyncCount = 0): RecordPatch => ({ Op: 'replace', Key, Value, SyncCount });
export const del = (Key: string, SyncCount: number): RecordPatch => ({ Op: 'remove', Key, SyncCount });

export async function token(d: Device): Promise<string> {
  return (await d.sync.send(new ListRecordsCommand(d.ref))).SyncSessionToken ?? '';
}

export function update(d: Device, SyncSessionToken: string, RecordPatches: RecordPatch[]) {
  return d.sync.send(new UpdateRecordsCommand({ ...d.ref, SyncSessionToken, RecordPatches }));
}

/** ListRecords then UpdateRecords: one synchronize() push. */
export async function push(d: Device, patches: RecordPatch[]) {
  return update(d, await token(d), patches);
}

/** The dataset as the developer sees it: its count and live values. */
export async function stored(s: TestServer, ref: Device['ref']) {
  const out = await clients(s).sync.send(new ListRecordsCommand(ref));
  const live = (out.Records ?? []).filter((r) => r.Value !== undefined);
  return {
    syncCount: out.DatasetSyncCount ?? 0,
    values: Object.fromEntries(live.map((r) => [r.Key ?? '', r.Value ?? ''])),
    counts: Object.fromEntries((out.Records ?? []).map((r) => [r.Key ?? '', r.SyncCount ?? 0])),
  };
}

/** The records of an UpdateRecords answer as key → [value or null, count]. */
export function written(out: { Records?: { Key?: string | undefined; Value?: string | undefined; SyncCount?: number | undefined }[] | undefined }) {
  return Object.fromEntries((out.Records ?? []).map((r) => [r.Key ?? '', [r.Value ?? null, r.SyncCount ?? 0]]));
}

/** Sets `update` as the answer: the event with datasetRecords changed by `change`. */
export const transform = (change: (records: TriggerEvent['datasetRecords']) => void): Handler => (event) => {
  change(event.datasetRecords);
  return { json: event };
};
