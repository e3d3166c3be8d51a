/**
 * Large answers are written a part at a time with turns of the event loop between parts (src/http/respond.ts,
 * writeInParts): every character arrives, surrogate pairs included, whatever part boundary they meet.
 */
import { createServer, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ListRecordsCommand, UpdateRecordsCommand } from '@aws-sdk/client-cognito-sync';
import { ANSWER_PART_CHARS, writeInParts } from '../../src/http/respond.js';
import { clients, poolWithIdentity, startServer } from '../helpers/server.js';

/** Serves `body` through writeInParts on a real node:http server; notes the event-loop turn of each write. */
async function serveInParts(body: string): Promise<{ received: string; turnsAtWrites: number[] }> {
  let turn = 0;
  let counting = true;
  const count = () => { turn += 1; if (counting) setImmediate(count); };
  setImmediate(count);
  const turnsAtWrites: number[] = [];
  const server = createServer((_req, res: ServerResponse) => {
    res.writeHead(200, { 'Content-Length': Buffer.byteLength(body) });
    const write = res.write.bind(res) as (chunk: string, cb: (error?: Error | null) => void) => boolean;
    res.write = ((chunk: string, cb: (error?: Error | null) => void) => {
      turnsAtWrites.push(turn);
      return write(chunk, cb);
    }) as typeof res.write;
    writeInParts(res, body, () => res.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const received = await new Promise<string>((resolve, reject) => {
      request({ port: (server.address() as AddressInfo).port, host: '127.0.0.1' }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        res.on('error', reject);
      }).on('error', reject).end();
    });
    return { received, turnsAtWrites };
  } finally {
    counting = false;
    server.close();
  }
}

describe('large answers, written in parts', () => {
  it('every part after the first is written on a later turn of the event loop, and the body arrives whole', async () => {
    const body = 'x'.repeat(ANSWER_PART_CHARS * 5 + 123);
    const { received, turnsAtWrites } = await serveInParts(body);
    expect(received).toBe(body);
    expect(turnsAtWrites).toHaveLength(6);
    for (let i = 1; i < turnsAtWrites.length; i++) expect(turnsAtWrites[i]).toBeGreaterThan(turnsAtWrites[i - 1]!);
  });

  it('a surrogate pair that meets a part boundary is never split, at either parity', async () => {
    for (const prefix of ['', 'x']) {
      // A pair at every even (or odd) index: each boundary falls either between pairs or inside one.
      const body = prefix + '\u{1F600}'.repeat(ANSWER_PART_CHARS * 2) + 'end';
      const { received } = await serveInParts(body);
      expect(received.length).toBe(body.length);
      expect(received === body, `prefix ${JSON.stringify(prefix)}: no U+FFFD in place of a half`).toBe(true);
    }
  });

  it('a full ListRecords answer of astral characters reads back exactly through the SDK', async () => {
    const t = await startServer();
    try {
      const { poolId, identityId } = await poolWithIdentity(t);
      const { sync } = clients(t);
      const ref = { IdentityPoolId: poolId, IdentityId: identityId, DatasetName: 'emoji' };
      const { SyncSessionToken } = await sync.send(new ListRecordsCommand(ref));
      // Keys of one and two characters shift the values' pairs between even and odd positions in the answer.
      const patches = ['a', 'bb', 'c', 'dd'].map((Key, i) => ({
        Op: 'replace' as const, Key, Value: `${'\u{1F600}'.repeat(50_000 + i)}${'é'.repeat(i)}`, SyncCount: 0,
      }));
      await sync.send(new UpdateRecordsCommand({ ...ref, SyncSessionToken, RecordPatches: patches }));
      const { Records } = await sync.send(new ListRecordsCommand(ref));
      expect(Records?.map((r) => [r.Key, r.Value])).toEqual(patches.map((p) => [p.Key, p.Value]));
    } finally {
      await t.close();
    }
  });
});
