import { describe, expect, it } from 'vitest';
import { TenantFairQueue } from './tenant-fair-queue.ts';

describe('TenantFairQueue', () => {
  it('alternates between tenants, FIFO within each', () => {
    const queue = new TenantFairQueue();
    for (let i = 1; i <= 5; i++) queue.push('a', `a${i}`);
    queue.push('b', 'b1');
    queue.push('b', 'b2');
    queue.push('c', 'c1');
    expect(queue.size).toBe(8);
    expect(queue.drain().map((e) => e.id)).toEqual(['a1', 'b1', 'c1', 'a2', 'b2', 'a3', 'a4', 'a5']);
    expect(queue.size).toBe(0);
    expect(queue.next()).toBeUndefined();
  });

  it('removes a waiting execution and counts per tenant', () => {
    const queue = new TenantFairQueue();
    queue.push('a', 'a1');
    queue.push('a', 'a2');
    queue.push('b', 'b1');
    expect(queue.count('a')).toBe(2);
    expect(queue.remove('a', 'a1')).toBe(true);
    expect(queue.remove('a', 'a1')).toBe(false);
    expect(queue.remove('b', 'a2')).toBe(false);
    expect(queue.remove('b', 'b1')).toBe(true);
    expect(queue.count('b')).toBe(0);
    expect(queue.next()).toEqual({ tenant: 'a', id: 'a2' });
    expect(queue.size).toBe(0);
  });

  it('puts a tenant that comes back at the end of the rotation', () => {
    const queue = new TenantFairQueue();
    queue.push('a', 'a1');
    queue.push('b', 'b1');
    expect(queue.next()?.id).toBe('a1');
    queue.push('a', 'a2');
    queue.push('c', 'c1');
    expect(queue.drain().map((e) => e.id)).toEqual(['b1', 'a2', 'c1']);
  });

  it('passes over a tenant whose first execution may not start, keeping its place and its order', () => {
    const queue = new TenantFairQueue();
    queue.push('a', 'a1');
    queue.push('a', 'a2');
    queue.push('b', 'b1');
    queue.push('b', 'b2');
    const notA = (entry: { tenant: string }) => entry.tenant !== 'a';
    expect(queue.next(notA)?.id).toBe('b1');
    expect(queue.next(notA)?.id).toBe('b2');
    expect(queue.next(notA)).toBeUndefined();
    expect(queue.size).toBe(2);
    expect(queue.drain().map((e) => e.id)).toEqual(['a1', 'a2']);
  });
});
