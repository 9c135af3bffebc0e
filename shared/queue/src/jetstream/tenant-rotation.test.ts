import { describe, expect, it } from 'vitest';
import { TenantRotation } from './tenant-rotation.ts';

describe('TenantRotation', () => {
  it('goes round the tenants with work, a served one moving to the back', () => {
    const rotation = new TenantRotation();
    rotation.hasWork('a');
    rotation.hasWork('b');
    rotation.hasWork('c');
    const order: string[] = [];
    for (let i = 0; i < 6; i++) {
      const turn = rotation.next()!;
      order.push(turn.consumer);
      rotation.served(turn);
    }
    expect(order).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
  });

  it('drops a tenant found empty, but keeps it when news of a job arrived during the pull', () => {
    const rotation = new TenantRotation();
    rotation.hasWork('a');
    rotation.hasWork('b');
    const first = rotation.next()!;
    expect(first.consumer).toBe('a');
    rotation.hasWork('a'); // a wake-up while the pull was on its way
    rotation.empty(first);
    expect(rotation.size).toBe(2);
    expect(rotation.next()!.consumer).toBe('b');
    const b = rotation.next()!;
    rotation.empty(b);
    const again = rotation.next()!;
    expect(again.consumer).toBe('a');
    rotation.empty(again);
    expect(rotation.next()).toBeUndefined();
  });

  it('gives a tenant with several consumers one turn per round, going round its consumers', () => {
    const rotation = new TenantRotation((consumer) => consumer.split('~')[0] ?? consumer);
    for (const consumer of ['t', 't~gcc', 't~go', 'u']) rotation.hasWork(consumer);
    const order: string[] = [];
    for (let i = 0; i < 8; i++) {
      const turn = rotation.next()!;
      order.push(turn.consumer);
      rotation.served(turn);
    }
    expect(order).toEqual(['t', 'u', 't~gcc', 'u', 't~go', 'u', 't', 'u']);
  });

  it('forgets a consumer entirely', () => {
    const rotation = new TenantRotation();
    rotation.hasWork('gone');
    rotation.forget('gone');
    expect(rotation.next()).toBeUndefined();
  });
});
