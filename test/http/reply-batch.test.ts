import { describe, expect, it } from 'vitest';
import type { FastifyReply } from 'fastify';
import { sendThisTurn } from '../../src/http/reply-batch.js';

/** A reply stand-in: reply-batch only reaches for `raw.destroy` when a send throws. */
function fakeReply(destroyed: unknown[]): FastifyReply {
  return { raw: { destroy: (err: unknown) => destroyed.push(err) } } as unknown as FastifyReply;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('answers of one event-loop turn are sent together', () => {
  it('sends nothing during the turn, then every queued answer in order', async () => {
    const sent: number[] = [];
    const destroyed: unknown[] = [];
    for (let i = 0; i < 5; i++) sendThisTurn(fakeReply(destroyed), () => sent.push(i));
    await Promise.resolve();
    expect(sent).toEqual([]);
    await nextTurn();
    expect(sent).toEqual([0, 1, 2, 3, 4]);
    expect(destroyed).toEqual([]);
  });

  it('an answer that fails to send drops its own connection only', async () => {
    const sent: string[] = [];
    const destroyed: unknown[] = [];
    sendThisTurn(fakeReply(destroyed), () => sent.push('a'));
    sendThisTurn(fakeReply(destroyed), () => {
      throw new Error('cannot send');
    });
    sendThisTurn(fakeReply(destroyed), () => sent.push('c'));
    await nextTurn();
    expect(sent).toEqual(['a', 'c']);
    expect(destroyed).toHaveLength(1);
    expect((destroyed[0] as Error).message).toBe('cannot send');
  });

  it('an answer queued while a batch is being sent goes out in the next turn', async () => {
    const sent: string[] = [];
    const reply = fakeReply([]);
    sendThisTurn(reply, () => {
      sent.push('first');
      sendThisTurn(reply, () => sent.push('second'));
    });
    await nextTurn();
    expect(sent).toEqual(['first']);
    await nextTurn();
    expect(sent).toEqual(['first', 'second']);
  });
});
