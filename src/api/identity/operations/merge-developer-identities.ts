import { defineIdentityOperation } from '../../operation.js';
import { errors } from '../../errors.js';
import { requireDeveloperPool } from '../common.js';
import { mergedDatasetName } from '../../../domain/merged-dataset-name.js';
import { checkMerge } from '../logins.js';

interface MergeDeveloperIdentitiesInput {
  SourceUserIdentifier: string;
  DestinationUserIdentifier: string;
  DeveloperProviderName: string;
  IdentityPoolId: string;
}

/**
 * Developer credentials only: merges the identity of the source developer user into that of the destination user.
 * The destination survives with every login; the source is disabled and its datasets move over as
 * `<name>.<sourceIdentityId>` (SPEC §5.7). Answers the surviving IdentityId.
 */
export const mergeDeveloperIdentities = defineIdentityOperation({
  name: 'MergeDeveloperIdentities',
  auth: 'developer',
  async handler(input: MergeDeveloperIdentitiesInput, ctx) {
    const { store, clock } = ctx.services;
    const pool = await requireDeveloperPool(ctx, input.IdentityPoolId, input.DeveloperProviderName);
    const find = async (userId: string) => {
      const login = await store.findLogin(pool.identityPoolId, input.DeveloperProviderName, userId);
      if (!login) throw errors.notFound(`Developer user '${userId}' not found.`);
      return login.identityId;
    };
    const source = await find(input.SourceUserIdentifier);
    const destination = await find(input.DestinationUserIdentifier);
    if (source !== destination) {
      const logins = await store.listLoginsOf([source, destination]);
      const loginSets = [source, destination].map((id) => logins.get(id) ?? []);
      checkMerge(loginSets, input.DeveloperProviderName, destination);
      const outcome = await store.mergeIdentities({
        survivorId: destination, mergedId: source, now: clock.now(),
        datasetName: (name, taken) => mergedDatasetName(name, source, taken),
      });
      // An identity deleted meanwhile (DeleteIdentities): its developer user is gone with it.
      if (!outcome) throw errors.notFound('A developer user to merge was deleted with its identity.');
    }
    return { IdentityId: destination };
  },
});
