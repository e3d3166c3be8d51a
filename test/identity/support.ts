/**
 * Shared helpers of the identity tests: credentials obtained the way apps obtain them (the v3 credential
 * providers), Cognito Sync clients fed with them, small read/write steps, and error expectations.
 */
import { expect } from 'vitest';
import { fromCognitoIdentity, fromCognitoIdentityPool } from '@aws-sdk/credential-provider-cognito-identity';
import {
  CognitoSyncClient, ListRecordsCommand, UpdateRecordsCommand, type ListRecordsCommandOutput, type _Record as SyncRecord,
} from '@aws-sdk/client-cognito-sync';
import type { TestServer } from '../helpers/server.js';

export interface StaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
}

/** A fresh identity-ID cache, so guests of one test file do not share the SDK's process-wide in-memory cache. */
export function privateCache() {
  const items = new Map<string, string>();
  return {
    getItem: (key: string) => items.get(key) ?? null,
    setItem: (key: string, value: string) => { items.set(key, value); },
    removeItem: (key: string) => { items.delete(key); },
  };
}

/** fromCognitoIdentityPool pointed at the test server; a guest unless logins are given. */
export function poolCredentials(t: TestServer, identityPoolId: string, logins?: Record<string, string>) {
  return fromCognitoIdentityPool({
    clientConfig: { endpoint: t.endpoint, region: t.region, maxAttempts: 1 },
    identityPoolId,
    cache: privateCache(),
    ...(logins ? { logins } : {}),
  });
}

/** fromCognitoIdentity (GetCredentialsForIdentity only), as the SDK does for a cached identity ID. */
export function identityCredentials(t: TestServer, identityId: string, logins?: Record<string, string>) {
  return fromCognitoIdentity({
    clientConfig: { endpoint: t.endpoint, region: t.region, maxAttempts: 1 },
    identityId,
    ...(logins ? { logins } : {}),
  });
}

type CredentialSource = StaticCredentials | (() => Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string }>);

/** A Cognito Sync client signing with identity credentials (a provider or static ones), retries off. */
export function syncClient(t: TestServer, credentials: CredentialSource): CognitoSyncClient {
  return new CognitoSyncClient({ endpoint: t.endpoint, region: t.region, credentials, maxAttempts: 1 });
}

/** Resolves a provider once and keeps the three strings (to forge, replay or share them). */
export async function staticCredentials(
  provider: () => Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string }>,
): Promise<StaticCredentials> {
  const c = await provider();
  expect(c.sessionToken).toBeTruthy();
  return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken ?? '' };
}

export interface DatasetRef {
  IdentityPoolId: string;
  IdentityId: string;
  DatasetName: string;
}

/** One synchronize() round: ListRecords, then UpdateRecords replacing `values` at the counts just read. */
export async function writeRecords(sync: CognitoSyncClient, ref: DatasetRef, values: Readonly<Record<string, string>>) {
  const listed = await sync.send(new ListRecordsCommand(ref));
  const counts = new Map((listed.Records ?? []).map((r) => [r.Key, r.SyncCount ?? 0]));
  return sync.send(new UpdateRecordsCommand({
    ...ref,
    SyncSessionToken: listed.SyncSessionToken,
    RecordPatches: Object.entries(values).map(([Key, Value]) => ({ Op: 'replace', Key, Value, SyncCount: counts.get(Key) ?? 0 })),
  }));
}

/** The live records of a dataset as key → value, with the whole ListRecords answer. */
export async function readRecords(sync: CognitoSyncClient, ref: DatasetRef): Promise<{ values: Record<string, string>; listed: ListRecordsCommandOutput; records: SyncRecord[] }> {
  const listed = await sync.send(new ListRecordsCommand(ref));
  const records = (listed.Records ?? []).filter((r) => r.Value !== undefined);
  return { values: Object.fromEntries(records.map((r) => [r.Key ?? '', r.Value ?? ''])), listed, records };
}

/** The rejection of `p` (fails the test when it resolves). */
export async function rejection(p: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  const outcome = await p.then(() => ({ ok: true as const }), (err: unknown) => ({ ok: false as const, err }));
  if (outcome.ok) throw new Error('expected the call to be refused, but it succeeded');
  expect(outcome.err).toBeInstanceOf(Error);
  return outcome.err as Error & { $metadata?: { httpStatusCode?: number } };
}

/** Expects an AWS error with this name (= `__type` / x-amzn-ErrorType), HTTP status and, optionally, message. */
export async function expectRefused(p: Promise<unknown>, name: string, status: number, message?: RegExp | string) {
  const err = await rejection(p);
  expect({ name: err.name, status: err.$metadata?.httpStatusCode }, err.message).toEqual({ name, status });
  if (message !== undefined) expect(err.message).toMatch(message);
  return err;
}

/** An unsigned Cognito Identity call as raw JSON, to see `__type` and the status exactly as sent. */
export async function identityJson(t: TestServer, operation: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${t.endpoint}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `AWSCognitoIdentityService.${operation}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** The claims of a JWT, unverified (for looking only). */
export function jwtClaims(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}
