// Recycling of isolate hosts under load: a host that reaches its budget is handed over to a successor that is
// ready before the old host stops taking jobs, one host at a time, with the configured budget, and no host
// process left behind. Real child processes; the pool's own host events are the record.

import { afterEach, describe, expect, it } from 'vitest';
import type { HostEvent } from './host-pool.ts';
import { IsolateSandbox, type IsolateSandboxOptions } from './isolate-sandbox.ts';
import { processExists, runJob } from './test-jobs.ts';

const open: IsolateSandbox[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((sandbox) => sandbox.close()));
});

/** A sandbox whose host events are kept, with the invariants checked at every event. */
async function observedSandbox(options: IsolateSandboxOptions & { hosts: number }) {
  const events: HostEvent[] = [];
  const ready = new Set<number>();
  const retiring = new Set<number>();
  const gone = new Set<number>();
  let started = false;
  const violations: string[] = [];
  const serving = () => [...ready].filter((pid) => !retiring.has(pid) && !gone.has(pid));
  const sandbox = new IsolateSandbox({
    ...options,
    onHostEvent: (event) => {
      events.push(event);
      if (event.type === 'ready') ready.add(event.pid);
      if (event.type === 'retiring') retiring.add(event.pid);
      if (event.type === 'exited') gone.add(event.pid);
      if (event.type === 'leased' && !serving().includes(event.pid))
        violations.push(`a job was leased host ${event.pid}, which is not ready or is retiring`);
      if (!started) return;
      if (serving().length < options.hosts)
        violations.push(`only ${serving().length} hosts took jobs after ${JSON.stringify(event)}`);
      const retiringNow = [...retiring].filter((pid) => !gone.has(pid));
      if (retiringNow.length > 1) violations.push(`hosts ${retiringNow.join(', ')} retired at once`);
    },
  });
  open.push(sandbox);
  await sandbox.start();
  started = true;
  const pids = () =>
    new Set(events.flatMap((e) => (e.type === 'succession' ? [e.pid, e.successor] : [e.pid])));
  return { sandbox, events, violations, pids, retired: () => [...retiring].filter((pid) => gone.has(pid)) };
}

describe('isolate host succession', () => {
  it('hands a spent host over to a ready successor, one at a time, while jobs keep being served', async () => {
    const draws = [0, 0.99, 0.5];
    let draw = 0;
    const { sandbox, events, violations, pids, retired } = await observedSandbox({
      hosts: 2,
      maxJobsPerHost: 8,
      random: () => draws[draw++ % draws.length] ?? 0,
    });
    let submitted = 0;
    // Four clients keep both hosts busy until three hosts have been recycled (bounded by a job count).
    const client = async () => {
      while (retired().length < 3 && submitted < 5000) {
        const n = submitted++;
        const { result } = await runJob(sandbox, {
          code: 'await new Promise((r) => setTimeout(r, 1)); console.log("job", airlock.args[0])',
          args: [String(n)],
        });
        expect(result).toMatchObject({ outcome: 'success', stdout: `job ${n}\n` });
      }
    };
    await Promise.all([client(), client(), client(), client()]);
    expect(retired().length).toBeGreaterThanOrEqual(3);
    expect(violations).toEqual([]);
    // Every retirement came after its successor was ready.
    for (const event of events) {
      if (event.type !== 'succession') continue;
      const readyAt = events.findIndex((e) => e.type === 'ready' && e.pid === event.successor);
      const retiringAt = events.findIndex((e) => e.type === 'retiring' && e.pid === event.pid);
      if (retiringAt !== -1) expect(readyAt).toBeLessThan(retiringAt);
    }
    await sandbox.close();
    for (const pid of pids()) expect(processExists(pid), `host ${pid} is still running`).toBe(false);
  });

  it('starts a successor when a host has run its configured budget less the lead', async () => {
    // random 0.5: budget 10 - floor(0.5 × 2.5) = 9, successor at 9 - floor(0.9) = 9.
    const { sandbox, events } = await observedSandbox({ hosts: 1, maxJobsPerHost: 10, random: () => 0.5 });
    const successions = () => events.filter((e) => e.type === 'succession');
    for (let i = 0; successions().length < 2 && i < 5000; i += 1) {
      const { result } = await runJob(sandbox, { code: 'console.log(1)' });
      expect(result.outcome).toBe('success');
    }
    expect(successions()).toHaveLength(2);
    for (const event of successions()) expect(event).toMatchObject({ jobsRun: 9, budget: 9 });
    const leases = new Map<number, number>();
    for (const e of events) if (e.type === 'leased') leases.set(e.pid, (leases.get(e.pid) ?? 0) + 1);
    const [first] = successions();
    expect(leases.get(first?.pid ?? 0)).toBeGreaterThanOrEqual(9);
  });

  it('leaves no host process behind when closed while a successor is starting', async () => {
    const { sandbox, events, pids } = await observedSandbox({ hosts: 1, maxJobsPerHost: 1 });
    const { result } = await runJob(sandbox, { code: 'console.log(1)' });
    expect(result.outcome).toBe('success');
    expect(events.some((e) => e.type === 'succession')).toBe(true);
    await sandbox.close();
    expect(pids().size).toBeGreaterThanOrEqual(2);
    for (const pid of pids()) expect(processExists(pid), `host ${pid} is still running`).toBe(false);
  });
});
