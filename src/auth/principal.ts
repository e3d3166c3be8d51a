import type { Identity } from '../storage/types.js';

/**
 * Who is calling. Every signed request resolves to exactly one principal before any operation runs.
 *
 * - `developer`: long-term developer credentials (COSYNC_ACCESS_KEY_ID / COSYNC_SECRET_ACCESS_KEY); may act on
 *   every pool, like the IAM credentials of the AWS account that owns the pools.
 * - `identity`: temporary credentials issued by Cognito Identity to one identity in one pool (issue 3 adds the
 *   issuer); may act on that identity only.
 * - `anonymous`: an unsigned request, accepted only by the public Cognito Identity operations.
 */
export type Principal =
  | { readonly kind: 'developer'; readonly accessKeyId: string; readonly accountId: string }
  | {
      readonly kind: 'identity';
      readonly accessKeyId: string;
      readonly identityId: string;
      readonly identityPoolId: string;
      readonly accountId: string;
      /**
       * The identity as the credentials' resolver read it for this request (it exists, is enabled and is in
       * identityPoolId), so that operations on the caller's own identity need not read it again.
       */
      readonly identity?: Identity;
    }
  | { readonly kind: 'anonymous' };

/** The value AWS writes into `LastModifiedBy`: the identity ID for identity credentials, else the account ID. */
export function lastModifiedBy(principal: Principal): string {
  if (principal.kind === 'identity') return principal.identityId;
  if (principal.kind === 'developer') return principal.accountId;
  return 'anonymous';
}
