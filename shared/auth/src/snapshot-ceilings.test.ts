import { describe, expect, it } from 'vitest';
import { IntentClaim } from './claims.ts';
import { snapshotCeilings } from './snapshot-ceilings.ts';
import { TenantPolicy } from './tenant-policy.ts';

describe('snapshotCeilings', () => {
  it('narrows the tenant quota by the intent quota, key by key, and never widens', () => {
    expect(snapshotCeilings({ max_count: 5, max_bytes: 1000 }, { max_count: 1 })).toEqual({
      ok: true,
      ceilings: { max_count: 1, max_bytes: 1000 },
    });
    expect(snapshotCeilings({ max_count: 1 }, { max_count: 5, max_bytes: 10 })).toEqual({
      ok: true,
      ceilings: { max_count: 1, max_bytes: 10 },
    });
    expect(snapshotCeilings(undefined, true)).toEqual({ ok: true, ceilings: {} });
    expect(snapshotCeilings(true, undefined)).toEqual({ ok: true, ceilings: {} });
  });

  it('says who forbids snapshots, the tenant first', () => {
    expect(snapshotCeilings(false, false)).toEqual({
      ok: false,
      reason: 'snapshots are not allowed by the tenant policy',
      field: 'snapshots',
    });
    expect(snapshotCeilings({ max_count: 3 }, false)).toMatchObject({
      ok: false,
      reason: 'snapshots are not allowed by the intent token',
    });
  });

  it('is spelled the same in the token and the policy; a zero or an unknown key is refused', () => {
    expect(IntentClaim.parse({ snapshots: { max_count: 1 } }).snapshots).toEqual({ max_count: 1 });
    expect(IntentClaim.parse({ snapshots: false }).snapshots).toBe(false);
    expect(IntentClaim.safeParse({ snapshots: { max_count: 0 } }).success).toBe(false);
    expect(IntentClaim.safeParse({ snapshots: { count: 1 } }).success).toBe(false);
    const policy = {
      languages: ['python'],
      backends: ['gvisor'],
      max_concurrent: 1,
      max_queued: 0,
      submissions_per_minute: 1,
    };
    expect(TenantPolicy.parse(policy).snapshots).toBeUndefined();
    expect(TenantPolicy.parse({ ...policy, snapshots: { max_bytes: 1 << 30 } }).snapshots).toEqual({
      max_bytes: 1 << 30,
    });
  });
});
