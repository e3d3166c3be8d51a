import { defineIdentityOperation } from '../../operation.js';
import { errors, identityNotFound } from '../../errors.js';
import { afterFromToken, requirePool, tokenAfter } from '../common.js';

interface LookupDeveloperIdentityInput {
  IdentityPoolId: string;
  IdentityId?: string;
  DeveloperUserIdentifier?: string;
  MaxResults?: number;
  NextToken?: string;
}

const DEFAULT_PAGE = 60;

const compareUtf8 = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

/**
 * Developer credentials only: the identity of a developer user identifier, or the developer user identifiers
 * linked to an identity (paged by identifier). One of IdentityId and DeveloperUserIdentifier is needed; unknown
 * ones answer ResourceNotFoundException.
 */
export const lookupDeveloperIdentity = defineIdentityOperation({
  name: 'LookupDeveloperIdentity',
  auth: 'developer',
  async handler(input: LookupDeveloperIdentityInput, ctx) {
    const { store } = ctx.services;
    const pool = await requirePool(ctx, input.IdentityPoolId);
    const provider = pool.developerProviderName;
    if (input.IdentityId === undefined && input.DeveloperUserIdentifier === undefined) {
      throw errors.invalidParameter('Either IdentityId or DeveloperUserIdentifier must be given');
    }
    let identityId = input.IdentityId;
    if (input.DeveloperUserIdentifier !== undefined) {
      const login = provider === null ? undefined : await store.findLogin(pool.identityPoolId, provider, input.DeveloperUserIdentifier);
      if (!login) throw errors.notFound(`Developer user '${input.DeveloperUserIdentifier}' not found.`);
      // Both given, both there, but not linked: the model's "if the values are verified against the database …
      // Otherwise a ResourceConflictException is thrown". An identity that is not there is not found, as alone.
      if (identityId !== undefined && login.identityId !== identityId) {
        const claimed = await store.getIdentity(identityId);
        if (!claimed || claimed.identityPoolId !== pool.identityPoolId) throw identityNotFound(identityId);
        throw errors.conflict(`Developer user '${input.DeveloperUserIdentifier}' is not linked to identity '${identityId}'.`);
      }
      identityId = login.identityId;
    }
    const identity = identityId === undefined ? undefined : await store.getIdentity(identityId);
    if (!identity || identity.identityPoolId !== pool.identityPoolId) throw identityNotFound(identityId ?? '');
    const listing = ['LookupDeveloperIdentity', pool.identityPoolId, identity.identityId, provider];
    const after = afterFromToken(ctx, listing, input.NextToken);
    // Ordered by UTF-8 bytes here, whatever order the database keeps: a page starts after the token's identifier
    // in the same order, so none is skipped or repeated.
    const all = (await store.listLogins(identity.identityId))
      .filter((l) => l.providerName === provider)
      .map((l) => l.subject)
      .sort(compareUtf8)
      .filter((subject) => after === undefined || compareUtf8(subject, after) > 0);
    const limit = input.MaxResults ?? DEFAULT_PAGE;
    const page = all.slice(0, limit);
    const last = page[page.length - 1];
    return {
      IdentityId: identity.identityId,
      DeveloperUserIdentifierList: page,
      ...(all.length > limit && last !== undefined ? { NextToken: tokenAfter(ctx, listing, last) } : {}),
    };
  },
});
