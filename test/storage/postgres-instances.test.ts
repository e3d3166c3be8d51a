import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CognitoSyncClient, ListRecordsCommand, UpdateRecordsCommand, type UpdateRecordsCommandOutput,
} from '@aws-sdk/client-cognito-sync';
import { CreateIdentityPoolCommand, GetCredentialsForIdentityCommand, GetIdCommand } from '@aws-sdk/client-cognito-identity';
import { clients, startServer, type TestServer } from '../helpers/server.js';
import { describeWithPostgres, sharedSchema } from './postgres-support.js';

/**
 * Two Cosync instances on one PostgreSQL database, driven through the AWS SDK for JavaScript v3 as apps drive them:
 * each accepts what the other issued (identity credentials, sync session tokens), and UpdateRecords racing on
 * both serialise on the database.
 */
describeWithPostgres('two instances on one PostgreSQL database', 'test/storage/postgres-instances.test.ts', () => {
  const schema = sharedSchema('instances');
  let a: TestServer;
  let b: TestServer;
  let poolId: string;

  beforeAll(async () => {
    const storage = { engine: 'postgres', url: schema.url, poolSize: 5, statementTimeoutMs: 5000, connectTimeoutMs: 5000 } as const;
    // Started together: both migrate the empty schema at once, one waits for the other.
    [a, b] = await Promise.all([startServer({ config: { storage } }), startServer({ config: { storage } })]);
    const created = await clients(a).identity.send(new CreateIdentityPoolCommand({
      IdentityPoolName: 'two_instances', AllowUnauthenticatedIdentities: true,
    }));
    poolId = created.IdentityPoolId ?? '';
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  /** A guest identity created on `issuer`, with identity credentials `issuer` signed. */
  async function guest(issuer: TestServer) {
    const { identity } = clients(issuer);
    const { IdentityId } = await identity.send(new GetIdCommand({ IdentityPoolId: poolId }));
    const { Credentials } = await identity.send(new GetCredentialsForIdentityCommand({ IdentityId }));
    return {
      identityId: IdentityId ?? '',
      credentials: {
        accessKeyId: Credentials?.AccessKeyId ?? '', secretAccessKey: Credentials?.SecretKey ?? '',
        sessionToken: Credentials?.SessionToken ?? '',
      },
    };
  }
  const syncOn = (t: TestServer, credentials: Awaited<ReturnType<typeof guest>>['credentials']) =>
    new CognitoSyncClient({ endpoint: t.endpoint, region: t.region, credentials, maxAttempts: 1 });

  describe('two instances on one PostgreSQL database', () => {
    it('use the one database: a pool created on one is described by the other', async () => {
      const { identity } = clients(b);
      const { IdentityId } = await identity.send(new GetIdCommand({ IdentityPoolId: poolId }));
      expect(IdentityId).toMatch(/^us-east-1:/);
    });

    it("accept each other's identity credentials and sync session tokens", async () => {
      const me = await guest(b);
      const onA = syncOn(a, me.credentials);
      const onB = syncOn(b, me.credentials);
      const ref = { IdentityPoolId: poolId, IdentityId: me.identityId, DatasetName: 'settings' };
      // Credentials B issued, used on A; the session token A issued, used on B.
      const listed = await onA.send(new ListRecordsCommand(ref));
      const written = await onB.send(new UpdateRecordsCommand({
        ...ref, SyncSessionToken: listed.SyncSessionToken,
        RecordPatches: [{ Op: 'replace', Key: 'theme', Value: 'dark', SyncCount: 0 }],
      }));
      expect(written.Records?.[0]).toMatchObject({ Key: 'theme', Value: 'dark', SyncCount: 1, LastModifiedBy: me.identityId });
      // The consumed session is refused on A too.
      await expect(onA.send(new UpdateRecordsCommand({
        ...ref, SyncSessionToken: listed.SyncSessionToken,
        RecordPatches: [{ Op: 'replace', Key: 'theme', Value: 'light', SyncCount: 1 }],
      }))).rejects.toMatchObject({ name: 'InvalidParameterException' });
      const seen = await onA.send(new ListRecordsCommand(ref));
      expect(seen.Records?.map((r) => [r.Key, r.Value, r.SyncCount])).toEqual([['theme', 'dark', 1]]);
    });

    it('serialise racing UpdateRecords: one winner per expected sync count, counts never repeat or skip', async () => {
      const me = await guest(a);
      const writers = [a, b, a, b, a, b, a, b].map((t) => syncOn(t, me.credentials));
      const ref = { IdentityPoolId: poolId, IdentityId: me.identityId, DatasetName: 'race' };

      // Rounds: every writer lists (same state on both instances), then all write the same key at once with the
      // SyncCount they saw. Exactly one wins each round; the others get ResourceConflictException.
      const winners: number[] = [];
      for (let round = 0; round < 4; round++) {
        const listed = await Promise.all(writers.map((w) => w.send(new ListRecordsCommand(ref))));
        const seen = listed.map((l) => l.Records?.find((r) => r.Key === 'k')?.SyncCount ?? 0);
        expect(new Set(seen).size).toBe(1);
        const outcomes = await Promise.allSettled(writers.map((w, i) => w.send(new UpdateRecordsCommand({
          ...ref, SyncSessionToken: listed[i]!.SyncSessionToken,
          RecordPatches: [{ Op: 'replace', Key: 'k', Value: `round ${round} writer ${i}`, SyncCount: seen[i]! }],
        }))));
        const won = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
        expect(won).toHaveLength(1);
        for (const o of outcomes) {
          if (o.status === 'rejected') expect((o.reason as Error).name).toBe('ResourceConflictException');
        }
        winners.push(won[0]!.Records?.[0]?.SyncCount ?? -1);
      }
      expect(winners).toEqual([1, 2, 3, 4]);

      // Writers that retry until they land (as the Sync Manager does on a conflict): every one lands once, and
      // the counts they get are exactly the next ones, in some order.
      const landed = await Promise.all(writers.map(async (w, i): Promise<UpdateRecordsCommandOutput> => {
        for (let attempt = 0; attempt < 100; attempt++) {
          const listed = await w.send(new ListRecordsCommand(ref));
          const count = listed.Records?.find((r) => r.Key === `w${i}`)?.SyncCount ?? 0;
          try {
            return await w.send(new UpdateRecordsCommand({
              ...ref, SyncSessionToken: listed.SyncSessionToken,
              RecordPatches: [{ Op: 'replace', Key: `w${i}`, Value: String(i), SyncCount: count }],
            }));
          } catch (error) {
            if ((error as Error).name !== 'ResourceConflictException') throw error;
          }
        }
        throw new Error(`writer ${i} never landed`);
      }));
      // Distinct keys never conflict with each other: each write lands first time, one sync count each.
      expect(landed.map((l) => l.Records?.[0]?.SyncCount).sort((x, y) => x! - y!)).toEqual([5, 6, 7, 8, 9, 10, 11, 12]);
      const final = await syncOn(b, me.credentials).send(new ListRecordsCommand(ref));
      expect(final.DatasetSyncCount).toBe(12);
      expect(final.Records).toHaveLength(9);
    });
  });
});
