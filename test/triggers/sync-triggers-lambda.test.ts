/**
 * Lambda triggers through the real AWS SDK Lambda client (against the Lambda-compatible endpoint of support.ts),
 * and in-process module triggers: what they store, and how their failures answer.
 */
import { describe, expect, it } from 'vitest';
import { expectError } from '../api/sync-helpers.js';
import { echo, type Handler } from './support.js';
import {
  guest, lambda, lambdaArn, lambdaFunction, newPool, push, put, setTrigger, stored, t, token, transform, unique, update,
  useTriggerServer, written,
} from './harness.js';

useTriggerServer();

describe('a Lambda trigger through the AWS SDK Lambda client', () => {
  it('invokes the function by ARN, signed with the configured credentials for its region, and stores its answer', async () => {
    const pool = await newPool();
    const d = await guest(pool);
    const name = unique('fn');
    lambda.on(`${name}:live`, transform((records) => {
      records['greeting']!.newValue = `${records['greeting']!.newValue!}!`;
      records['seenBy'] = { oldValue: null, newValue: 'lambda', op: 'replace' };
    }));
    await setTrigger(pool, `${lambdaArn(name, 'eu-west-1')}:live`);
    const out = await push(d, [put('greeting', 'hello')]);
    expect(written(out)).toEqual({ greeting: ['hello!', 1], seenBy: ['lambda', 1] });
    const call = lambda.callsFor(`${name}:live`)[0]!;
    expect(call.authentic).toBe(true);
    expect(lambda.regions.at(-1)).toBe('eu-west-1');
    expect(call.event).toMatchObject({ version: 2, eventType: 'SyncTrigger', identityId: d.identityId, datasetName: 'settings' });
  });

  it('a function error answers InvalidLambdaFunctionOutputException; nothing is written; the token stays usable', async () => {
    const pool = await newPool();
    const d = await guest(pool);
    const name = await lambdaFunction(pool, () => { throw new Error('validation failed: bad word'); });
    const tok = await token(d);
    const err = await expectError(update(d, tok, [put('nick', 'bad')]), 'InvalidLambdaFunctionOutputException', 400, 'function failed (Unhandled)');
    expect(err.message).not.toContain('bad word');
    expect((await stored(t, d.ref)).syncCount).toBe(0);
    lambda.on(name, echo);
    expect(written(await update(d, tok, [put('nick', 'good')]))).toEqual({ nick: ['good', 1] });
  });

  it.each<[string, Handler, string]>([
    ['a payload that is not JSON', () => ({ raw: 'not json' }), 'not JSON'],
    ['a changed identityId', (e) => ({ json: { ...e, identityId: 'us-east-1:00000000-0000-4000-8000-000000000000' } }), "read-only field 'identityId'"],
    ['a record with a bad op', (e) => ({ json: { ...e, datasetRecords: { a: { newValue: 'x', op: 'delete' } } } }), 'op "delete"'],
  ])('a function answering %s answers InvalidLambdaFunctionOutputException; nothing is written', async (_what, handler, message) => {
    const pool = await newPool();
    const d = await guest(pool);
    await lambdaFunction(pool, handler);
    await expectError(push(d, [put('a', '1')]), 'InvalidLambdaFunctionOutputException', 400, message);
    expect((await stored(t, d.ref)).syncCount).toBe(0);
  });

  it('an unknown function answers InvalidLambdaFunctionOutputException', async () => {
    const pool = await newPool();
    const d = await guest(pool);
    await setTrigger(pool, lambdaArn('doesNotExist'));
    await expectError(push(d, [put('a', '1')]), 'InvalidLambdaFunctionOutputException', 400, 'could not be invoked (ResourceNotFoundException)');
    expect((await stored(t, d.ref)).syncCount).toBe(0);
  });

  it('a throttled function (429 TooManyRequestsException) answers LambdaThrottledException 429', async () => {
    const pool = await newPool();
    const d = await guest(pool);
    const name = await lambdaFunction(pool, () => ({ throttle: true }));
    const tok = await token(d);
    await expectError(update(d, tok, [put('a', '1')]), 'LambdaThrottledException', 429, 'try the sync operation again');
    expect(lambda.callsFor(name)).toHaveLength(1); // the SDK did not retry on its own
    expect((await stored(t, d.ref)).syncCount).toBe(0);
    lambda.on(name, echo);
    expect(written(await update(d, tok, [put('a', '1')]))).toEqual({ a: ['1', 1] });
  });
});

describe('a module trigger', () => {
  it('runs in process: transforms and adds', async () => {
    const pool = await newPool();
    const d = await guest(pool);
    await setTrigger(pool, 'module:upper');
    const out = await push(d, [put('city', 'paris')]);
    expect(written(out)).toEqual({ city: ['PARIS', 1], checkedBy: ['module:true', 1] });
  });

  it('a module that throws answers InvalidLambdaFunctionOutputException', async () => {
    const pool = await newPool();
    const d = await guest(pool);
    await setTrigger(pool, 'module:throws');
    await expectError(push(d, [put('a', '1')]), 'InvalidLambdaFunctionOutputException', 400, 'module threw');
    expect((await stored(t, d.ref)).syncCount).toBe(0);
  });
});
