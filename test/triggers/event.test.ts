import { describe, expect, it } from 'vitest';
import type { Patch } from '../../src/domain/update-plan.js';
import type { RecordRow } from '../../src/storage/types.js';
import { applyTriggerOutput, buildEvent, InvalidTriggerOutput, type DatasetSnapshot } from '../../src/triggers/event.js';
import { hostAllowed, parseTriggerTarget } from '../../src/triggers/target.js';
import { defaultSyncTriggerConfig } from '../../src/triggers/config.js';
import { parseAllowedHosts, parseModules } from '../../src/triggers/config.js';
import { loadConfig } from '../../src/config.js';

/** The pure rules of Sync Triggers: the event, the answer's rules, target parsing and settings. */

/** The dataset record limit the answers are checked against. */
const MAX_RECORDS = 8;

const ctx = { region: 'us-east-1', identityPoolId: 'us-east-1:pool', identityId: 'us-east-1:id', datasetName: 'ds' };

function row(key: string, value: string | null, syncCount: number): RecordRow {
  return { key, value, syncCount, lastModifiedAt: 0, lastModifiedBy: 'x', deviceLastModifiedAt: 0 };
}

function snapshot(...rows: RecordRow[]): DatasetSnapshot {
  return { dataset: undefined, records: new Map(rows.map((r) => [r.key, r])) };
}

const patch = (key: string, value: string | undefined, syncCount = 0, op: Patch['op'] = 'replace'): Patch =>
  ({ op, key, value, syncCount, deviceLastModifiedAt: 123 });

describe('buildEvent', () => {
  it('carries live records unchanged, patched ones with old and new values, and leaves untouched tombstones out', () => {
    const snap = snapshot(row('live', 'v', 1), row('tomb', null, 2), row('edit', 'e', 1), row('revive', null, 3));
    const event = buildEvent(ctx, snap, [patch('edit', 'e2', 1), patch('revive', 'r', 3), patch('new', undefined), patch('live2', '', 0, 'remove')]);
    expect(JSON.parse(JSON.stringify(event))).toEqual({
      version: 2, eventType: 'SyncTrigger', ...ctx,
      datasetRecords: {
        live: { oldValue: 'v', newValue: 'v', op: 'replace' },
        edit: { oldValue: 'e', newValue: 'e2', op: 'replace' },
        revive: { oldValue: null, newValue: 'r', op: 'replace' },
        new: { oldValue: null, newValue: '', op: 'replace' },
        live2: { oldValue: null, newValue: null, op: 'remove' },
      },
    });
  });

  it('handles a record named __proto__ as any other key', () => {
    const event = buildEvent(ctx, snapshot(), [patch('__proto__', 'p')]);
    const text = JSON.stringify(event);
    expect(JSON.parse(text).datasetRecords).toEqual(JSON.parse('{"__proto__":{"oldValue":null,"newValue":"p","op":"replace"}}'));
    const out = applyTriggerOutput(event, JSON.parse(text), [patch('__proto__', 'p')], snapshot(), MAX_RECORDS);
    expect(out).toEqual([patch('__proto__', 'p')]);
  });
});

describe('applyTriggerOutput', () => {
  const snap = snapshot(row('a', '1', 4), row('b', '2', 5), row('dead', null, 6));
  const patches = [patch('a', 'A', 4)];
  const event = () => buildEvent(ctx, snap, patches);
  const answer = (records: Record<string, unknown>) => ({ ...event(), datasetRecords: records });

  it.each<[string, Record<string, unknown>, Patch[]]>([
    ['the echo commits the request only', { ...event().datasetRecords }, patches],
    ['leaving the patched record out drops it', {}, []],
    ['a changed value of the patched record keeps its count and device date', { a: { oldValue: '1', newValue: 'AA', op: 'replace' } }, [patch('a', 'AA', 4)]],
    ['op remove on the patched record removes it', { a: { newValue: 'A', op: 'remove' } }, [patch('a', undefined, 4, 'remove')]],
    ['a changed untouched record is written at its own count', { b: { oldValue: '2', newValue: '3', op: 'replace' } },
      [{ op: 'replace', key: 'b', value: '3', syncCount: 5, deviceLastModifiedAt: undefined }]],
    ['an untouched record answered as it was is not written', { b: { oldValue: 'ignored', newValue: '2', op: 'replace' } }, []],
    ['null removes an untouched record', { b: null }, [{ op: 'remove', key: 'b', value: undefined, syncCount: 5, deviceLastModifiedAt: undefined }]],
    ['a new key is added at count 0', { c: { newValue: 'x', op: 'replace' } },
      [{ op: 'replace', key: 'c', value: 'x', syncCount: 0, deviceLastModifiedAt: undefined }]],
    ['a tombstone revived keeps its count for the conflict check', { dead: { oldValue: null, newValue: 'back', op: 'replace' } },
      [{ op: 'replace', key: 'dead', value: 'back', syncCount: 6, deviceLastModifiedAt: undefined }]],
    ['removing a key that is not live changes nothing', { dead: null, nothing: { op: 'remove' } }, []],
  ])('%s', (_what, records, expected) => {
    expect(applyTriggerOutput(event(), answer(records), patches, snap, MAX_RECORDS)).toEqual(expected);
  });

  const apply = (output: unknown) => () => applyTriggerOutput(event(), output, patches, snap, MAX_RECORDS);

  it('refuses output that breaks the rules', () => {
    expect(apply('text')).toThrow(InvalidTriggerOutput);
    expect(apply({ ...event(), region: 'eu-west-1' })).toThrow("read-only field 'region'");
    expect(apply(answer({ a: { newValue: 'x', op: 'replace', oldValue: 3 } }))).toThrow('oldValue');
  });

  it('refuses keys and values holding half a surrogate pair, which would be stored as U+FFFD', () => {
    expect(apply(answer({ 'k\ud800': { newValue: 'x', op: 'replace' } }))).toThrow(/key that is not well-formed Unicode/);
    expect(apply(answer({ 'k\udbff': null }))).toThrow(/key that is not well-formed Unicode/);
    expect(apply(answer({ a: { newValue: 'x\udc00y', op: 'replace' } }))).toThrow(/newValue that is not well-formed Unicode/);
    expect(apply(answer({ 'k\u{1F600}': { newValue: '\u{1F600}', op: 'replace' } }))()).toHaveLength(1);
  });

  it('refuses an answer adding more records than the dataset may hold, before reading them one by one', () => {
    const adding = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`new${i}`, { op: 'replace', newValue: 'v' }]));
    expect(apply(answer(adding(MAX_RECORDS)))()).toHaveLength(MAX_RECORDS);
    expect(apply(answer(adding(MAX_RECORDS + 1)))).toThrow(`adds ${MAX_RECORDS + 1} records the event did not hold; the dataset may hold at most ${MAX_RECORDS}`);
    // Removals of keys that are not there add nothing, however many: a trigger cleaning up legacy keys.
    const removals = Object.fromEntries(Array.from({ length: 5 * MAX_RECORDS }, (_, i) => [`legacy${i}`, null]));
    expect(apply(answer({ ...removals, ...adding(2) }))()).toHaveLength(2);
    // A dataset above a lowered limit may be renamed whole: the quota refuses growth only.
    const big = snapshot(...Array.from({ length: 3 * MAX_RECORDS }, (_, i) => row(`old${i}`, 'v', 1)));
    const bigEvent = buildEvent(ctx, big, []);
    const renamed = { ...Object.fromEntries(Object.keys(bigEvent.datasetRecords).map((k) => [k, null])), ...adding(3 * MAX_RECORDS) };
    expect(applyTriggerOutput(bigEvent, { ...bigEvent, datasetRecords: renamed }, [], big, MAX_RECORDS)).toHaveLength(6 * MAX_RECORDS);
  });

  it('quotes at most 100 characters of a key or an op in its messages', () => {
    const long = 'k'.repeat(1000);
    let message = '';
    try { apply(answer({ [long]: 7 }))(); } catch (err) { message = (err as Error).message; }
    expect(message).toContain(`'${'k'.repeat(100)}…' (1000 characters)`);
    expect(message.length).toBeLessThan(250);
    try { apply(answer({ a: { op: 'x'.repeat(5_000_000), newValue: 'v' } }))(); } catch (err) { message = (err as Error).message; }
    expect(message.length).toBeLessThan(250);
  });
});

describe('targets and settings', () => {
  const config = { ...defaultSyncTriggerConfig(), webhook: { allowedHosts: parseAllowedHosts('Hooks.example.com, 127.0.0.1:9000, *.fn.example.net, *.tls.example.org:443'), signingSecret: 's'.repeat(16) }, modules: parseModules('a=./a.mjs, b.v2=/srv/b.mjs') };

  it.each([
    ['https://hooks.example.com/x', true],
    ['http://hooks.example.com:8080/x', true],
    ['http://127.0.0.1:9000/x', true],
    ['http://127.0.0.1:9001/x', false],
    ['http://127.0.0.1/x', false],
    ['https://a.fn.example.net/x', true],
    ['https://fn.example.net/x', false],
    ['https://evilfn.example.net/x', false],
    ['https://hooks.example.com.evil.org/x', false],
    ['https://x.tls.example.org/x', true],
    ['http://x.tls.example.org/x', false],
  ])('host of %s allowed: %s', (url, allowed) => {
    expect(hostAllowed(new URL(url), config.webhook.allowedHosts)).toBe(allowed);
  });

  it('parses the three kinds', () => {
    expect(parseTriggerTarget('arn:aws:lambda:eu-west-1:123456789012:function:f:prod', config)).toEqual(
      { kind: 'lambda', arn: 'arn:aws:lambda:eu-west-1:123456789012:function:f:prod', region: 'eu-west-1' });
    expect(parseTriggerTarget('module:b.v2', config)).toEqual({ kind: 'module', name: 'b.v2' });
    expect(parseTriggerTarget('module:toString', config)).toHaveProperty('error');
    expect(parseTriggerTarget('HTTPS://hooks.example.com/x', config)).toMatchObject({ kind: 'webhook' });
  });

  it('reads settings from flags and the environment, and refuses bad ones', () => {
    const c = loadConfig(['--sync-trigger-timeout-ms', '250', '--lambda-endpoint', 'http://127.0.0.1:9001/'], {
      COSYNC_SYNC_TRIGGER_CONCURRENCY: '0',
      COSYNC_SYNC_TRIGGER_WEBHOOK_HOSTS: 'a.example.com',
      COSYNC_SYNC_TRIGGER_WEBHOOK_SECRET: 'x'.repeat(32),
      COSYNC_SYNC_TRIGGER_MODULES: 'audit=./triggers/audit.mjs',
    });
    expect(c.syncTriggers).toEqual({
      timeoutMs: 250, concurrency: 0,
      lambda: { endpoint: 'http://127.0.0.1:9001', region: null, accessKeyId: null, secretAccessKey: null },
      webhook: { allowedHosts: ['a.example.com'], signingSecret: 'x'.repeat(32) },
      modules: { audit: './triggers/audit.mjs' },
    });
    expect(() => loadConfig(['--sync-trigger-timeout-ms', '0'], {})).toThrow('--sync-trigger-timeout-ms');
    expect(() => loadConfig(['--sync-trigger-webhook-secret', 'short'], {})).toThrow('at least 16');
    expect(() => loadConfig(['--sync-trigger-webhook-hosts', 'http://x.com'], {})).toThrow('is not a host');
    expect(() => loadConfig(['--sync-trigger-modules', 'noequals'], {})).toThrow('name=path');
  });
});
