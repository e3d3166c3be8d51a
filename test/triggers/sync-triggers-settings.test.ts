/**
 * Setting a Sync Trigger (Get/SetCognitoEvents): the three kinds of target a pool may name, the values refused
 * (hosts off the allow-list, unconfigured modules, ARNs of other services), and a removed trigger no longer called.
 */
import { describe, expect, it } from 'vitest';
import { GetCognitoEventsCommand } from '@aws-sdk/client-cognito-sync';
import { clients, startServer } from '../helpers/server.js';
import { expectError } from '../api/sync-helpers.js';
import { echo } from './support.js';
import { guest, hooks, lambdaArn, newPool, push, put, setTrigger, t, useTriggerServer, webhook } from './harness.js';

useTriggerServer();

describe('Get/SetCognitoEvents with a SyncTrigger', () => {
  it('accepts the three kinds of target and answers them back', async () => {
    const pool = await newPool();
    const values = [
      lambdaArn('onSync'), `${lambdaArn('onSync', 'eu-west-1')}:live`, `${lambdaArn('onSync')}:$LATEST`,
      `${hooks.url}/x`, 'http://127.0.0.1:1/any/path?q=1', 'module:upper',
    ];
    for (const value of values) {
      await setTrigger(pool, value);
      expect((await clients(t).sync.send(new GetCognitoEventsCommand({ IdentityPoolId: pool }))).Events).toEqual({ SyncTrigger: value });
    }
  });

  it.each([
    ['a host not on the allow-list', 'https://hooks.example.com/sync', "host 'hooks.example.com' is not on this server's allow-list"],
    ['an allowed host under another name', 'http://localhost:8080/x', "'localhost:8080'"],
    ['a URL with credentials', 'http://user:pw@127.0.0.1/x', 'must not carry credentials'],
    ['another scheme', 'ftp://127.0.0.1/x', 'is not a Sync Trigger'],
    ['a module not configured', 'module:evil', 'names no module this server is configured with'],
    ['a module path', 'module:../../etc/passwd', 'names no module'],
    ['a file path', '/srv/triggers/upper.mjs', 'is not a Sync Trigger'],
    ['an SNS ARN', 'arn:aws:sns:us-east-1:123456789012:topic', 'is not a Lambda function ARN'],
    ['a Lambda ARN without a function', 'arn:aws:lambda:us-east-1:123456789012:layer:x', 'is not a Lambda function ARN'],
    ['a short account', 'arn:aws:lambda:us-east-1:1234:function:f', 'is not a Lambda function ARN'],
  ])('refuses %s with InvalidParameterException and keeps the old value', async (_what, value, message) => {
    const pool = await newPool();
    await setTrigger(pool, 'module:upper');
    await expectError(setTrigger(pool, value), 'InvalidParameterException', 400, message);
    expect((await clients(t).sync.send(new GetCognitoEventsCommand({ IdentityPoolId: pool }))).Events).toEqual({ SyncTrigger: 'module:upper' });
  });

  it('refuses webhooks altogether on a server without an allow-list', async () => {
    const bare = await startServer();
    try {
      const pool = await newPool(bare);
      await expectError(setTrigger(pool, `${hooks.url}/x`, bare), 'InvalidParameterException', 400, 'allow-list');
      await expectError(setTrigger(pool, 'module:upper', bare), 'InvalidParameterException', 400, 'names no module');
      await setTrigger(pool, lambdaArn('f'), bare);
    } finally {
      await bare.close();
    }
  });

  it('stops calling the trigger once it is removed', async () => {
    const pool = await newPool();
    const name = await webhook(pool, echo);
    const d = await guest(pool);
    await push(d, [put('a', '1')]);
    await setTrigger(pool, '');
    await push(d, [put('b', '2')]);
    expect(hooks.callsFor(name)).toHaveLength(1);
  });
});
