import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { issueSyncSessionToken, verifySyncSessionToken } from '../../src/domain/sync-session.js';

const key = Buffer.alloc(32, 7);
const session = {
  identityPoolId: 'us-east-1:p', identityId: 'us-east-1:i', datasetName: 'd', sessionId: 's1', expiresAt: 10_000,
  deletionMark: null,
};
const expected = { identityPoolId: 'us-east-1:p', identityId: 'us-east-1:i', datasetName: 'd' };

describe('sync session tokens', () => {
  const token = issueSyncSessionToken(key, session);
  it('round-trips for the same dataset before expiry', () => {
    expect(verifySyncSessionToken(key, token, expected, 9_999)).toEqual(session);
  });
  it('carries the dataset\'s last deletion as the listing saw it', () => {
    const afterDeletion = { ...session, deletionMark: 7 };
    expect(verifySyncSessionToken(key, issueSyncSessionToken(key, afterDeletion), expected, 0)).toEqual(afterDeletion);
  });
  it('still accepts a token of the first version, which bound no deletion', () => {
    const payload = Buffer.from(JSON.stringify([1, 'us-east-1:p', 'us-east-1:i', 'd', 's1', 10_000])).toString('base64url');
    const v1 = `${payload}.${createHmac('sha256', key).update(payload).digest('base64url')}`;
    expect(verifySyncSessionToken(key, v1, expected, 0)).toEqual({ ...expected, sessionId: 's1', expiresAt: 10_000 });
  });
  it('is refused after expiry', () => {
    expect(() => verifySyncSessionToken(key, token, expected, 10_000)).toThrow(/expired/);
  });
  it.each([
    ['another dataset', token, { ...expected, datasetName: 'e' }],
    ['another identity', token, { ...expected, identityId: 'us-east-1:j' }],
    ['another key', issueSyncSessionToken(Buffer.alloc(32, 8), session), expected],
    ['a tampered payload', `x${token}`, expected],
    ['no MAC', token.split('.')[0] ?? '', expected],
  ])('is refused for %s', (_name, t, exp) => {
    expect(() => verifySyncSessionToken(key, t, exp, 0)).toThrow('SyncSessionToken not valid for these inputs');
  });
});
