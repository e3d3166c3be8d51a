import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_SPECS } from '../../src/api/errors.js';
import { cognitoSyncModel } from '../../src/api/model/cognito-sync-model.js';
import { cognitoIdentityModel } from '../../src/api/model/cognito-identity-model.js';
import { syncOperations } from '../../src/api/sync/index.js';
import { identityOperations } from '../../src/api/identity/index.js';

const documented = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
const codesInDocs = new Set([...documented.matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1]));
const modelErrors = new Set<string>(
  [...Object.values(cognitoSyncModel.operations), ...Object.values(cognitoIdentityModel.operations)].flatMap((o) => o.errors),
);

describe('error catalogue', () => {
  it('documents every code in docs/errors.md, and nothing more', () => {
    expect([...codesInDocs].sort()).toEqual(Object.keys(ERROR_SPECS).sort());
  });

  it('has a class for every exception either service model lists', () => {
    for (const name of modelErrors) expect(Object.keys(ERROR_SPECS)).toContain(name);
  });

  it('marks exactly the codes outside the models as front-end errors or documented-only service errors', () => {
    for (const [code, spec] of Object.entries(ERROR_SPECS)) {
      const frontEnd = 'frontEnd' in spec && spec.frontEnd === true;
      const outsideModel = 'outsideModel' in spec && spec.outsideModel === true;
      expect(frontEnd && outsideModel, code).toBe(false);
      expect(frontEnd || outsideModel, code).toBe(!modelErrors.has(code));
    }
  });

  it('uses the service model statuses for Cognito Sync', () => {
    expect(ERROR_SPECS.ResourceConflictException.restStatus).toBe(409);
    expect(ERROR_SPECS.NotAuthorizedException.restStatus).toBe(403);
    expect(ERROR_SPECS.ResourceNotFoundException.restStatus).toBe(404);
    expect(ERROR_SPECS.TooManyRequestsException.restStatus).toBe(429);
    expect(ERROR_SPECS.LambdaThrottledException.restStatus).toBe(429);
    expect(ERROR_SPECS.InternalErrorException.restStatus).toBe(500);
  });
});

describe('operation registries', () => {
  it('register every Cognito Sync operation under its own name', () => {
    expect(Object.keys(syncOperations).sort()).toEqual(Object.keys(cognitoSyncModel.operations).sort());
    for (const [name, op] of Object.entries(syncOperations)) expect(op.name).toBe(name);
  });

  it('register Cognito Identity operations that exist in the model, under their own names', () => {
    for (const [name, op] of Object.entries(identityOperations)) {
      expect(Object.keys(cognitoIdentityModel.operations)).toContain(name);
      expect(op.name).toBe(name);
    }
  });

  it('apply the caller policy of SPEC §3', () => {
    const identityOnly = ['RegisterDevice', 'SubscribeToDataset', 'UnsubscribeFromDataset'];
    const either = ['ListRecords', 'UpdateRecords', 'ListDatasets', 'DescribeDataset', 'DeleteDataset', 'DescribeIdentityUsage'];
    for (const [name, op] of Object.entries(syncOperations)) {
      const expected = identityOnly.includes(name) ? 'identity' : either.includes(name) ? 'either' : 'developer';
      expect(op.auth, name).toBe(expected);
    }
  });
});
