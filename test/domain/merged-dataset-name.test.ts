import { describe, expect, it } from 'vitest';
import { mergedDatasetName } from '../../src/domain/merged-dataset-name.js';

const OLD = 'us-east-1:0a1b2c3d-0000-4000-8000-000000000001';
const none = new Set<string>();

describe('mergedDatasetName', () => {
  it('is <name>.<oldIdentityId> when free', () => {
    expect(mergedDatasetName('profile', OLD, none)).toBe(`profile.${OLD}`);
  });

  it('shortens the name part so the whole is 128 characters at most', () => {
    const name = mergedDatasetName('p'.repeat(128), OLD, none);
    expect(name).toBe(`${'p'.repeat(128 - OLD.length - 1)}.${OLD}`);
    expect(name).toHaveLength(128);
  });

  it('never gives a taken name: a number goes after the name part, shortened further to fit', () => {
    expect(mergedDatasetName('profile', OLD, new Set([`profile.${OLD}`]))).toBe(`profile-2.${OLD}`);
    expect(mergedDatasetName('profile', OLD, new Set([`profile.${OLD}`, `profile-2.${OLD}`]))).toBe(`profile-3.${OLD}`);
    // Two long names that share their first 81 characters shorten to one name: the second takes the next number.
    const shared = `com.example.game.${'p'.repeat(70)}`;
    const first = mergedDatasetName(`${shared}.savegame`, OLD, none);
    const second = mergedDatasetName(`${shared}.settings`, OLD, new Set([first]));
    expect(second).not.toBe(first);
    expect(second).toBe(`${shared.slice(0, 128 - OLD.length - 1 - 2)}-2.${OLD}`);
    expect(second).toHaveLength(128);
    // Up to -10 and beyond, the name still fits.
    const taken = new Set<string>();
    for (let i = 0; i < 12; i++) taken.add(mergedDatasetName('x'.repeat(128), OLD, taken));
    expect(taken.size).toBe(12);
    for (const t of taken) expect(t.length).toBeLessThanOrEqual(128);
  });

  it('gives names the model accepts', () => {
    expect(mergedDatasetName('a.b:c_d-e', OLD, new Set([`a.b:c_d-e.${OLD}`]))).toMatch(/^[a-zA-Z0-9_.:-]{1,128}$/);
  });
});
