import { defineIdentityOperation } from '../../operation.js';
import { errors } from '../../errors.js';
import { afterFromToken, requirePool, tokenAfter } from '../common.js';

interface LookupDeveloperIdentityInput {
  IdentityPoolId: string;
  IdentityId?: string;
  DeveloperUserIdentifier?: string;
  MaxResults?: number;
  NextToken?: string;
}

const DEFAULT_PAGE = 60;

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
      if (!login || (identityId !== undefined && login.identityId !== identityId)) {
        throw errors.notFound(`Developer user '${input.DeveloperUserIdentifier}' not found.`);
      }
      identityId = login.identityId;
    }
    const identity = identityId === undefined ? undefined : await store.getIdentity(identityId);
    if (!identity || identity.identityPoolId !== pool.identityPoolId) throw errors.notFound(`Identity '${identityId ?? ''}' not found.`);
    const listing = ['LookupDeveloperIdentity', pool.identityPoolId, identity.identityId, provider];
    const after = afterFromToken(ctx, listing, input.NextToken);
    const all = (await store.listLogins(identity.identityId))
      .filter((l) => l.providerName === provider && (after === undefined || l.subject > after))
      .map((l) => l.subject);
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
