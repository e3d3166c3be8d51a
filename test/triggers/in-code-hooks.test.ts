/**
 * In-code hooks around UpdateRecords (src/hooks/types.ts): a `beforeUpdateRecords` hook that drops every change of
 * a push, and what the after-commit hooks then see.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListRecordsCommand } from '@aws-sdk/client-cognito-sync';
import type { DatasetChangedPayload } from '../../src/hooks/types.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { guest, newPool, push, put, stored } from './harness.js';

let s: TestServer;
const changed: DatasetChangedPayload[] = [];

beforeAll(async () => {
  s = await startServer({
    hooks: [{
      name: 'drops-private-keys',
      async beforeUpdateRecords({ changes }) { return changes.filter((c) => !c.key.startsWith('private.')); },
      async afterDatasetChanged(payload) { changed.push(payload); },
    }],
  });
});
afterAll(() => s.close());

describe('a beforeUpdateRecords hook that drops every change of a push', () => {
  it('answers no record, moves the count (iOS lists from count + 1 next) and calls no after-commit hook', async () => {
    const d = await guest(await newPool(s), s);
    const kept = await push(d, [put('score', '1')]);
    expect(kept.Records?.map((r) => [r.Key, r.SyncCount])).toEqual([['score', 1]]);
    expect(changed.map((c) => c.syncCount)).toEqual([1]);

    const dropped = await push(d, [put('private.token', 'x')]);
    expect(dropped.Records).toEqual([]);
    expect(await stored(s, d.ref)).toMatchObject({ syncCount: 2, values: { score: '1' } });
    expect(changed).toHaveLength(1);
    const next = await d.sync.send(new ListRecordsCommand({ ...d.ref, LastSyncCount: 2 }));
    expect(next).toMatchObject({ Records: [], DatasetSyncCount: 2, DatasetExists: true });
  });
});
