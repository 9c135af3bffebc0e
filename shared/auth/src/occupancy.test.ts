import { describe, expect, it } from 'vitest';
import { type OccupancyTicket, TenantOccupancy } from './occupancy.ts';

const quotas: Record<string, { max_concurrent: number; max_queued: number }> = {
  acme: { max_concurrent: 2, max_queued: 1 },
  other: { max_concurrent: 1, max_queued: 0 },
};
const occupancy = () => new TenantOccupancy({ quotaOf: (t) => quotas[t]!, retryAfterSeconds: 2 });

function admitted(o: TenantOccupancy, tenant: string): OccupancyTicket {
  const decision = o.acquire(tenant);
  if (!decision.ok) throw new Error(decision.reason);
  return decision.ticket;
}

describe('TenantOccupancy', () => {
  it('admits max_concurrent + max_queued executions per tenant, then refuses with a reason and Retry-After', () => {
    const o = occupancy();
    const tickets = [admitted(o, 'acme'), admitted(o, 'acme'), admitted(o, 'acme')];
    expect(o.acquire('acme')).toEqual({
      ok: false,
      reason: 'tenant quota reached: 3 executions queued or running (max_concurrent 2 + max_queued 1)',
      retryAfterSeconds: 2,
    });
    expect(o.acquire('other').ok).toBe(true);
    tickets[0]!.release();
    expect(o.acquire('acme').ok).toBe(true);
  });

  it('starts at most max_concurrent, and a release lets the next one start', () => {
    const o = occupancy();
    const [a, b, c] = [admitted(o, 'acme'), admitted(o, 'acme'), admitted(o, 'acme')];
    expect(a.start()).toBe(true);
    expect(b.start()).toBe(true);
    expect(o.canStart('acme')).toBe(false);
    expect(c.start()).toBe(false);
    expect(o.counts('acme')).toEqual({ queued: 1, running: 2 });
    a.release();
    expect(c.start()).toBe(true);
    expect(o.counts('acme')).toEqual({ queued: 0, running: 2 });
  });

  it('ignores a second release, so counts never go wrong', () => {
    const o = occupancy();
    const a = admitted(o, 'acme');
    const b = admitted(o, 'acme');
    a.start();
    a.release();
    a.release();
    b.release();
    b.release();
    expect(o.counts('acme')).toEqual({ queued: 0, running: 0 });
    expect(a.start()).toBe(false);
  });
});
