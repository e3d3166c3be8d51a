// The Cosync configuration every bench and soak server runs with: loopback, port 0, the bench region, warnings
// only, and throttling off (a rate of 0 switches a bucket off), since they measure the server, not its buckets.
import { REGION } from './sign.js';

/** `storage` as in src/config.ts; `more(defaults)` adds or overrides settings. */
export async function benchServerConfig(dataDir, storage, more = () => ({})) {
  const { defaultConfig } = await import('../dist/config.js');
  const defaults = defaultConfig();
  return {
    ...defaults,
    host: '127.0.0.1',
    port: 0,
    region: REGION,
    dataDir,
    logLevel: 'warn',
    storage,
    throttle: { identityRatePerSecond: 0, identityBurst: 1, poolRatePerSecond: 0, poolBurst: 1 },
    ...more(defaults),
  };
}
