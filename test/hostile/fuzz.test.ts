/**
 * The hostile-input fuzzer (fuzz-suite.ts) on the embedded engine: in-memory SQLite. FUZZ_RUNS (default 3000)
 * sets the number of requests, FUZZ_SEED replays a run.
 */
import { describeHostileFuzz } from './fuzz-suite.js';

describeHostileFuzz('SQLite', Number(process.env['FUZZ_RUNS'] ?? 3000), async () => ({ config: { maxBodyBytes: 65_536 } }));
