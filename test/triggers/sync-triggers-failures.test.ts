/**
 * A trigger that fails its write: output that breaks the rules, a trigger unavailable for now (answered with the
 * exceptions the SDKs retry), throttling beyond the configured concurrency, and timeouts. Nothing is written, and
 * the session token stays usable.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../helpers/server.js';
import { expectError } from '../api/sync-helpers.js';
import { delay, echo, gate, type Handler, type TriggerEvent } from './support.js';
import {
  guest, hooks, lambdaFunction, newPool, push, put, server, setTrigger, stored, t, token, update, useTriggerServer, webhook,
  written,
} from './harness.js';

useTriggerServer();

describe('invalid output', () => {
  const base = (event: TriggerEvent) => JSON.parse(JSON.stringify(event)) as TriggerEvent;
  const cases: [string, Handler, string][] = [
    ['a body that is not JSON', () => ({ raw: 'OK' }), 'not JSON'],
    ['an empty body', () => ({ raw: '' }), 'not JSON'],
    ['a JSON array', () => ({ json: [] }), 'not a JSON object'],
    ['null', () => ({ json: null }), 'not a JSON object'],
    ['a changed identityId', (e) => ({ json: { ...base(e), identityId: 'us-east-1:00000000-0000-4000-8000-000000000000' } }), "read-only field 'identityId'"],
    ['a changed version', (e) => ({ json: { ...base(e), version: 3 } }), "read-only field 'version'"],
    ['a changed datasetName', (e) => ({ json: { ...base(e), datasetName: 'other' } }), "read-only field 'datasetName'"],
    ['a missing eventType', (e) => { const o: Record<string, unknown> = base(e); delete o['eventType']; return { json: o }; }, "read-only field 'eventType'"],
    ['an added field', (e) => ({ json: { ...base(e), extra: true } }), "added the field 'extra'"],
    ['no datasetRecords', (e) => { const o: Record<string, unknown> = base(e); delete o['datasetRecords']; return { json: o }; }, 'datasetRecords in the output is not an object'],
    ['datasetRecords as a list', (e) => ({ json: { ...base(e), datasetRecords: [] } }), 'datasetRecords in the output is not an object'],
    ['a record that is a string', (e) => ({ json: { ...base(e), datasetRecords: { a: 'x' } } }), "record 'a' in the output is not an object or null"],
    ['an unknown op', (e) => ({ json: { ...base(e), datasetRecords: { a: { oldValue: null, newValue: 'x', op: 'upsert' } } } }), 'op "upsert"'],
    ['a missing op', (e) => ({ json: { ...base(e), datasetRecords: { a: { newValue: 'x' } } } }), 'op undefined'],
    ['replace without newValue', (e) => ({ json: { ...base(e), datasetRecords: { a: { op: 'replace' } } } }), 'no newValue'],
    ['a number as value', (e) => ({ json: { ...base(e), datasetRecords: { a: { newValue: 5, op: 'replace' } } } }), 'newValue that is not a string'],
    ['an empty key', (e) => ({ json: { ...base(e), datasetRecords: { '': { newValue: 'x', op: 'replace' } } } }), 'has 0 characters'],
    ['a key of 1,025 characters', (e) => ({ json: { ...base(e), datasetRecords: { ['k'.repeat(1025)]: { newValue: 'x', op: 'replace' } } } }), 'has 1025 characters'],
    ['a value of 1,048,576 characters', (e) => ({ json: { ...base(e), datasetRecords: { a: { newValue: 'v'.repeat(1_048_576), op: 'replace' } } } }), 'value of 1048576 characters'],
    ['HTTP 500', () => ({ fail: 'boom' }), 'webhook answered HTTP 500'],
    ['HTTP 404', () => ({ status: 404 }), 'webhook answered HTTP 404'],
    ['a redirect', () => ({ raw: '', status: 302 }), 'webhook answered HTTP 302'],
  ];

  it.each(cases)('%s answers InvalidLambdaFunctionOutputException; nothing is written; the token stays usable', async (_what, handler, message) => {
    const pool = await newPool();
    const d = await guest(pool);
    await push(d, [put('a', 'before')]);
    const name = await webhook(pool, handler);
    const tok = await token(d);
    await expectError(update(d, tok, [put('a', 'after', 1)]), 'InvalidLambdaFunctionOutputException', 400, message);
    expect(await stored(t, d.ref)).toMatchObject({ syncCount: 1, values: { a: 'before' } });
    hooks.on(name, echo);
    expect(written(await update(d, tok, [put('a', 'after', 1)]))).toEqual({ a: ['after', 2] });
  });

  it('a stored target the server no longer allows answers InvalidLambdaFunctionOutputException', async () => {
    const other = await server({ modules: {} });
    try {
      // Set while the module was configured (here: written directly), then the operator removed the module.
      const otherPool = await newPool(other);
      await other.services.store.updatePoolSyncSettings(otherPool, (c) => ({ ...c, events: { SyncTrigger: 'module:upper' } }));
      const d = await guest(otherPool, other);
      await expectError(push(d, [put('a', '1')]), 'InvalidLambdaFunctionOutputException', 400, 'not callable on this server');
    } finally {
      await other.close();
    }
  });
});

describe('a trigger unavailable for now: the SDKs retry the answer', () => {
  it.each([
    [502, 'LambdaThrottledException', 429],
    [503, 'LambdaThrottledException', 429],
    [504, 'LambdaSocketTimeoutException', 504],
    [500, 'InvalidLambdaFunctionOutputException', 400],
  ] as const)('a webhook answering %i answers %s %i; nothing is written', async (status, code, httpStatus) => {
    const pool = await newPool();
    const d = await guest(pool);
    const name = await webhook(pool, () => ({ status }));
    const tok = await token(d);
    await expectError(update(d, tok, [put('a', '1')]), code, httpStatus);
    expect((await stored(t, d.ref)).syncCount).toBe(0);
    hooks.on(name, echo);
    expect(written(await update(d, tok, [put('a', '1')]))).toEqual({ a: ['1', 1] });
  });

  it.each([
    [500, 'ServiceException', 'LambdaThrottledException', 429],
    [502, 'ResourceNotReadyException', 'LambdaThrottledException', 429],
    // A failure that lasts until the function is fixed: retrying would only repeat it.
    [502, 'InvalidZipFileException', 'InvalidLambdaFunctionOutputException', 400],
  ] as const)('Lambda answering %i %s answers %s %i', async (status, type, code, httpStatus) => {
    const pool = await newPool();
    const d = await guest(pool);
    await lambdaFunction(pool, () => ({ raw: JSON.stringify({ __type: type, message: 'from the Lambda service' }), status }));
    await expectError(push(d, [put('a', '1')]), code, httpStatus);
    expect((await stored(t, d.ref)).syncCount).toBe(0);
  });
});

describe('throttling and timeouts', () => {
  let limited: TestServer;
  beforeAll(async () => { limited = await server({ timeoutMs: 300, concurrency: 2 }); });
  afterAll(() => limited.close());

  it('a webhook answering 429 answers LambdaThrottledException 429; nothing is written', async () => {
    const pool = await newPool();
    const d = await guest(pool);
    const name = await webhook(pool, () => ({ throttle: true }));
    const tok = await token(d);
    await expectError(update(d, tok, [put('a', '1')]), 'LambdaThrottledException', 429);
    expect((await stored(t, d.ref)).syncCount).toBe(0);
    hooks.on(name, echo);
    expect(written(await update(d, tok, [put('a', '1')]))).toEqual({ a: ['1', 1] });
  });

  it('beyond the configured concurrency, a call answers LambdaThrottledException at once', async () => {
    const pool = await newPool(limited);
    const slow = gate();
    const name = await webhook(pool, async (e) => { await slow.opened; return { json: e }; }, limited);
    const [a, b, c] = await Promise.all([guest(pool, limited), guest(pool, limited), guest(pool, limited)]);
    const [ta, tb, tc] = await Promise.all([token(a!), token(b!), token(c!)]);
    const first = update(a!, ta!, [put('k', 'a')]);
    const second = update(b!, tb!, [put('k', 'b')]);
    while (hooks.callsFor(name).length < 2) await delay(5);
    expect(limited.services.triggers.callsInFlight).toBe(2);
    await expectError(update(c!, tc!, [put('k', 'c')]), 'LambdaThrottledException', 429, 'throttled');
    slow.open();
    expect(written(await first)).toEqual({ k: ['a', 1] });
    expect(written(await second)).toEqual({ k: ['b', 1] });
    expect((await stored(limited, c!.ref)).syncCount).toBe(0);
    expect(written(await update(c!, tc!, [put('k', 'c')]))).toEqual({ k: ['c', 1] });
    expect(limited.services.triggers.callsInFlight).toBe(0);
  });

  it.each([
    ['a webhook', async (pool: string) => { await webhook(pool, async (e) => { await delay(1500); return { json: e }; }, limited); }],
    ['a Lambda function', async (pool: string) => { await lambdaFunction(pool, async (e) => { await delay(1500); return { json: e }; }, limited); }],
    ['a module', async (pool: string) => { await setTrigger(pool, 'module:hangs', limited); }],
  ])('%s that does not answer in time answers LambdaSocketTimeoutException 504; nothing is written', async (_what, configure) => {
    const pool = await newPool(limited);
    const d = await guest(pool, limited);
    await push(d, [put('a', 'before')]);
    await configure(pool);
    const tok = await token(d);
    const started = Date.now();
    await expectError(update(d, tok, [put('a', 'after', 1)]), 'LambdaSocketTimeoutException', 504, 'did not answer within 300 ms');
    expect(Date.now() - started).toBeLessThan(1400);
    expect(await stored(limited, d.ref)).toMatchObject({ syncCount: 1, values: { a: 'before' } });
    expect(limited.services.triggers.callsInFlight).toBe(0);
    // The session token was not consumed: with the trigger gone it still commits.
    await setTrigger(pool, '', limited);
    expect(written(await update(d, tok, [put('a', 'after', 1)]))).toEqual({ a: ['after', 2] });
  });
});
