/**
 * The hostile-input fuzzer (fuzz-suite.ts) on PostgreSQL (COSYNC_TEST_PG), in a schema of its own: the same requests
 * must get the same kinds of answers whatever the engine (PostgreSQL refuses some text SQLite stores, such as NUL).
 * FUZZ_RUNS_PG (default 1500) sets the number of requests, FUZZ_SEED replays a run.
 */
import { createTestSchema, describeWithPostgres, type TestSchema } from '../storage/postgres-support.js';
import { describeHostileFuzz } from './fuzz-suite.js';

describeWithPostgres('hostile requests on every route (PostgreSQL)', 'hostile/fuzz-postgres.test.ts', () => {
  let schema: TestSchema | undefined;
  describeHostileFuzz('PostgreSQL', Number(process.env['FUZZ_RUNS_PG'] ?? 1500), async () => {
    schema = await createTestSchema('fuzz');
    return {
      config: {
        maxBodyBytes: 65_536,
        storage: { engine: 'postgres', url: schema.url, poolSize: 4, statementTimeoutMs: 5000, connectTimeoutMs: 5000 },
      },
    };
  }, async () => { await schema?.drop(); });
});
