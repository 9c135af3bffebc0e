// The isolate host's job budget: drawn within a quarter below the configured one, successor started a tenth
// early, never below one job.

import { describe, expect, it } from 'vitest';
import { hostBudget } from './host-budget.ts';

describe('hostBudget', () => {
  it('draws each host’s budget within a quarter below the configured one', () => {
    expect(hostBudget(200, () => 0)).toEqual({ jobs: 200, successorAt: 180 });
    expect(hostBudget(200, () => 0.999)).toEqual({ jobs: 151, successorAt: 136 });
    for (let i = 0; i < 100; i += 1) {
      const { jobs, successorAt } = hostBudget(200, () => i / 100);
      expect(jobs).toBeGreaterThanOrEqual(150);
      expect(jobs).toBeLessThanOrEqual(200);
      expect(successorAt).toBe(jobs - Math.floor(jobs / 10));
    }
  });

  it('gives different hosts different budgets, so they do not recycle together', () => {
    const draws = [0.1, 0.6];
    const budgets = draws.map((r) => hostBudget(200, () => r).jobs);
    expect(new Set(budgets).size).toBe(2);
  });

  it('never goes below one job', () => {
    expect(hostBudget(1, () => 0.999)).toEqual({ jobs: 1, successorAt: 1 });
    expect(hostBudget(2, () => 0.999)).toEqual({ jobs: 2, successorAt: 2 });
  });
});
