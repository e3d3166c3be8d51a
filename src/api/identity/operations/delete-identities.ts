import { defineIdentityOperation } from '../../operation.js';
import { nextEventLoopTurn } from '../../turns.js';

interface DeleteIdentitiesInput {
  /** 1–60 identity IDs (checked against the model before the handler runs). */
  IdentityIdsToDelete: string[];
}

/**
 * Developer credentials only: deletes identities with their logins and all their Cognito Sync data. Credentials
 * already issued to them stop working at once. IDs that do not exist are ignored; an identity that could not be
 * deleted is reported in UnprocessedIdentityIds with ErrorCode InternalServerError.
 */
export const deleteIdentities = defineIdentityOperation({
  name: 'DeleteIdentities',
  auth: 'developer',
  async handler(input: DeleteIdentitiesInput, ctx) {
    const unprocessed: { IdentityId: string; ErrorCode: string }[] = [];
    for (const identityId of new Set(input.IdentityIdsToDelete)) {
      await nextEventLoopTurn();
      try {
        await ctx.services.store.deleteIdentity(identityId);
      } catch (err) {
        ctx.services.logger.error({ requestId: ctx.requestId, err, identityId }, 'DeleteIdentities could not delete an identity');
        unprocessed.push({ IdentityId: identityId, ErrorCode: 'InternalServerError' });
      }
    }
    return { UnprocessedIdentityIds: unprocessed };
  },
});
