import { describe, expect, it } from 'vitest';
import { checkMerge } from '../../src/api/identity/logins.js';
import { ServiceError } from '../../src/api/errors.js';

/** The rule every merge is checked against before anything moves (src/api/identity/logins.ts). */
describe('checkMerge', () => {
  const login = (providerName: string, subject: string) => ({ providerName, subject });

  it('refuses two users of one public provider, whether held by the identities or linked along with the merge', () => {
    const survivor = [login('accounts.google.com', 'g1')];
    const merged = [login('graph.facebook.com', 'f1')];
    expect(() => checkMerge([survivor, merged], 'login.dev', 'us-east-1:s')).not.toThrow();
    expect(() => checkMerge([survivor, [login('accounts.google.com', 'g2')]], 'login.dev', 'us-east-1:s'))
      .toThrow(/different users of provider accounts\.google\.com/);
    expect(() => checkMerge([survivor, merged, [login('graph.facebook.com', 'f2')]], 'login.dev', 'us-east-1:s'))
      .toThrow(ServiceError);
  });

  it('lets the developer provider have several users, and counts every login toward the limit of 20', () => {
    const developer = Array.from({ length: 10 }, (_, i) => login('login.dev', `u${i}`));
    expect(() => checkMerge([developer, developer], 'login.dev', 'us-east-1:s')).not.toThrow();
    expect(() => checkMerge([developer, developer, [login('login.dev', 'one-more')]], 'login.dev', 'us-east-1:s'))
      .toThrow(/limited to 20/);
  });
});
