import { errors } from '../api/errors.js';
import type { AuthClass } from '../api/operation.js';
import type { Principal } from './principal.js';

/** AWS's message when a credential class may not call an operation (observed on RegisterDevice). */
export const WRONG_CREDENTIALS_MESSAGE = 'These credentials are not valid for accessing this resource';

/**
 * The per-operation policy of SPEC §3, enforced in this one place before any handler runs: the caller class
 * must be allowed, and identity credentials may touch only their own identity in their own pool.
 */
export function authorize(auth: AuthClass, principal: Principal, input: Record<string, unknown>): void {
  if (auth === 'public') return;
  if (principal.kind === 'anonymous') throw errors.missingAuthenticationToken('Request is missing Authentication Token');
  if (auth === 'developer' && principal.kind !== 'developer') throw errors.notAuthorized(WRONG_CREDENTIALS_MESSAGE);
  if (auth === 'identity' && principal.kind !== 'identity') throw errors.notAuthorized(WRONG_CREDENTIALS_MESSAGE);
  if (principal.kind !== 'identity') return;
  const poolId = input['IdentityPoolId'];
  const identityId = input['IdentityId'];
  if (typeof poolId === 'string' && poolId !== principal.identityPoolId) {
    throw errors.notAuthorized(`Access to IdentityPool '${poolId}' is forbidden.`);
  }
  if (typeof identityId === 'string' && identityId !== principal.identityId) {
    throw errors.notAuthorized(`Access to Identity '${identityId}' is forbidden.`);
  }
}
