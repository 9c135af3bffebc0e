// The queue tests' checks that every execution reached exactly one terminal state: after cancels racing
// completions, and after a mix of well-behaved, failing and stubborn jobs with random cancels.
// For tests only; never imported by the queue itself.

import type { AirlockError, Execution } from '@airlock/protocol';
import { expect } from 'vitest';
import type { JobQueue, JobWorker } from '../src/job-queue.ts';
import { submitInput, successResult } from './fixtures.ts';

/** What a cancel() answered (the execution, or the error code) and the execution's final state. */
export interface CancelRace {
  cancel: Execution | string;
  final: Execution;
}

/**
 * Each execution ended once, as whichever side won says: a cancel that was refused as `execution_finished`
 * lost to a success; a cancel that answered is the final state. Both sides won some of the races, and the
 * finished-listeners heard each execution once.
 */
export function expectOneTerminalTransition(outcomes: CancelRace[], finishedIds: string[]): void {
  for (const { cancel, final } of outcomes) {
    expect(final.status).toBe('finished');
    if (typeof cancel === 'string') {
      expect(cancel).toBe('execution_finished');
      expect(final.result?.outcome).toBe('success');
    } else {
      expect(final).toEqual(cancel);
      expect(final.result?.outcome).toBe('canceled');
    }
  }
  // Both sides of the race happened: some cancels won, some completions won.
  expect(outcomes.some((o) => typeof o.cancel === 'string')).toBe(true);
  expect(outcomes.some((o) => o.final.result?.reason === 'canceled while running')).toBe(true);
  expect(finishedIds.length).toBe(outcomes.length);
  expect(new Set(finishedIds).size).toBe(outcomes.length);
}

/** The kinds of job mixedWorker runs, one per submitted execution in turn. */
export const MIXED_KINDS = ['normal', 'normal', 'normal', 'throws', 'garbage', 'stubborn'];

/**
 * A worker for executions whose metadata names a kind and a number of ticks: it prints a line per tick
 * (pausing between them), then succeeds, throws, or returns garbage; a `stubborn` one ignores its abort.
 */
export function mixedWorker(pause: () => Promise<unknown>): JobWorker {
  return async (job, context) => {
    const kind = job.execution.metadata.kind;
    for (let i = 0; i < Number(job.execution.metadata.ticks); i++) {
      if (context.signal.aborted && kind !== 'stubborn') break;
      context.output('stdout', `tick ${i}\n`);
      await pause();
    }
    if (kind === 'throws') throw new Error('boom');
    if (kind === 'garbage') return { nonsense: true } as never;
    return successResult('ok');
  };
}

/**
 * Submits `count` executions for mixedWorker, over five tenants, the kinds in turn and the ticks at random;
 * after each submit, three times in ten, cancels an execution submitted so far, chosen at random. Every
 * `yieldEvery` submits it lets the event loop turn. Answers the submitted executions and what the cancels
 * answered (the execution, or the error code).
 */
export async function submitMixedWithCancels(
  queue: JobQueue,
  count: number,
  random: () => number,
  yieldEvery?: number,
): Promise<{ submitted: Execution[]; cancels: Array<Execution | string> }> {
  const submitted: Execution[] = [];
  const cancels: Array<Promise<Execution | string>> = [];
  for (let i = 0; i < count; i++) {
    const input = submitInput(`tenant-${i % 5}`);
    const kind = MIXED_KINDS[i % MIXED_KINDS.length]!;
    input.execution.metadata = { kind, ticks: String(Math.floor(random() * 5)) };
    submitted.push((await queue.submit(input)).execution);
    if (random() < 0.3) {
      const target = submitted[Math.floor(random() * submitted.length)]!;
      cancels.push(queue.cancel(target.tenant, target.id).catch((e: AirlockError) => e.code));
    }
    if (yieldEvery !== undefined && i % yieldEvery === 0)
      await new Promise((resolve) => setImmediate(resolve));
  }
  return { submitted, cancels: await Promise.all(cancels) };
}

/**
 * Every execution finished once (as its finished-listeners heard), every cancel either was refused as
 * `execution_finished` or ended its execution as canceled, and the canceled executions are exactly those.
 * Returns the ids of the canceled ones.
 */
export function expectEachEndedOnce(
  finals: Execution[],
  cancels: Array<Execution | string>,
  finishedCount: Map<string, number>,
): Set<string> {
  for (const final of finals) {
    expect(final.status).toBe('finished');
    expect(final.result).not.toBeNull();
    expect(finishedCount.get(final.id)).toBe(1);
  }
  for (const result of cancels) {
    if (typeof result === 'string') expect(result).toBe('execution_finished');
    else expect(result.result?.outcome).toBe('canceled');
  }
  // Canceled are exactly the executions some cancel() succeeded on (two cancels may hit one running job).
  const canceled = new Set(finals.filter((f) => f.result?.outcome === 'canceled').map((f) => f.id));
  const cancelIds = new Set(cancels.flatMap((r) => (typeof r === 'string' ? [] : [r.id])));
  expect(canceled).toEqual(cancelIds);
  expect(finishedCount.size).toBe(finals.length);
  return canceled;
}
