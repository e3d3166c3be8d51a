import { defineIdentityOperation } from '../../operation.js';
import { errors } from '../../errors.js';
import { newRegionalId } from '../common.js';
import { poolDescription, poolFromSettings, type IdentityPoolSettingsWire } from '../pool-shape.js';

/** AWS's default quota of identity pools per account and region (SPEC §14, DG limits). */
export const MAX_IDENTITY_POOLS = 1000;

/**
 * Creates an identity pool and answers its full description, under a new `<region>:<uuid>` ID. Pool names need
 * not be unique (AWS allows duplicates). The quota holds under concurrent creations: the store counts and inserts
 * atomically.
 * Note: v3 and the CLI treat LimitExceededException as throttling and retry it (WIRE §3).
 */
export const createIdentityPool = defineIdentityOperation({
  name: 'CreateIdentityPool',
  auth: 'developer',
  async handler(input: IdentityPoolSettingsWire, ctx) {
    const { store, clock } = ctx.services;
    const pool = poolFromSettings(newRegionalId(ctx), input, clock.now());
    if (!(await store.createIdentityPool(pool, MAX_IDENTITY_POOLS))) {
      throw errors.limitExceeded(`The maximum number of identity pools (${MAX_IDENTITY_POOLS}) has been reached.`);
    }
    return poolDescription(pool);
  },
});
