// Helpers of the parity suites (test/parity-*.test.ts): where one ordinary program runs (language × backend),
// the service they run on, submitting it, and a lossless, readable summary of long outputs for comparing them.
// Never relaxes a comparison: a summary says exactly what the text is.

import { randomUUID } from 'node:crypto';
import type { BackendName } from '@airlock/protocol';
import { CONTAINER_BACKENDS } from '@airlock/sandbox';
import { useContainerService } from './containers.ts';
import { call } from './service.ts';

export interface Target {
  language: 'python' | 'bash' | 'javascript' | 'typescript';
  backend: BackendName;
}

/** Every language on every container backend (runc, runsc). */
export const CONTAINER_TARGETS: readonly Target[] = (
  ['python', 'bash', 'javascript', 'typescript'] as const
).flatMap((language) => CONTAINER_BACKENDS.map((backend) => ({ language, backend })));

/** JavaScript and TypeScript on the isolate as well. */
export const ALL_TARGETS: readonly Target[] = [
  ...CONTAINER_TARGETS,
  { language: 'javascript', backend: 'isolate' },
  { language: 'typescript', backend: 'isolate' },
];

/** How long one parity test may take: it runs a program on every target at once. */
export const PARITY_TIMEOUT = 300_000;

export const nameOf = (t: Target): string => `${t.language} on ${t.backend}`;

/**
 * Run-length encoding of a text: `a×65534 \n×1 b×65535 …`. Lossless, so comparing summaries is comparing the texts,
 * but a difference in a megabyte of output reads as a line.
 */
export function runs(text: string): string {
  const out: string[] = [];
  const chars = [...text];
  for (let i = 0; i < chars.length; ) {
    let j = i + 1;
    while (j < chars.length && chars[j] === chars[i]) j++;
    out.push(`${JSON.stringify(chars[i]).slice(1, -1)}×${j - i}`);
    i = j;
  }
  return out.join(' ');
}

/** The parts of a result a parity test compares, with long outputs as runs(). */
export function summary(result: {
  outcome: string;
  exit_code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  truncated: { stdout: boolean; stderr: boolean };
  reason: string | null;
}) {
  const { outcome, exit_code, signal, stdout, stderr, truncated, reason } = result;
  return { outcome, exit_code, signal, stdout: runs(stdout), stderr: runs(stderr), truncated, reason };
}

/**
 * Runs `job` on every one of `targets` at once, then hands each execution with its target to `check`, in the
 * order of `targets`.
 */
export async function onEveryTarget(
  targets: readonly Target[],
  job: (t: Target) => Promise<any>,
  check: (execution: any, t: Target) => void,
): Promise<void> {
  const executions = await Promise.all(targets.map(job));
  for (const [i, execution] of executions.entries()) check(execution, targets[i]!);
}

/** The summary of a run that exited 0 with exactly this stdout and stderr, nothing cut. */
export function wholeSuccess(stdout: string, stderr: string): ReturnType<typeof summary> {
  return summary({
    outcome: 'success',
    exit_code: 0,
    signal: null,
    stdout,
    stderr,
    truncated: { stdout: false, stderr: false },
    reason: null,
  });
}

/**
 * Submits and waits for the finished execution. The suites send dozens of requests at once over kept-alive
 * connections; one reused just as the gateway closes it after its keep-alive timeout fails with ECONNRESET
 * before the request is read. The request carries an Idempotency-Key, so sending it again returns the same
 * execution, never a second one.
 */
export async function runExecution(
  url: string,
  request: Record<string, unknown>,
  waitSeconds = 280,
): Promise<any> {
  const key = `parity-${randomUUID()}`;
  for (let attempt = 1; ; attempt++) {
    try {
      const response = await call(url, 'POST', `/v1/executions?wait=${waitSeconds}`, request, {
        'idempotency-key': key,
      });
      if (response.status !== 201 && response.status !== 200)
        throw new Error(`expected 201, got ${response.status}: ${JSON.stringify(response.body)}`);
      return response.body;
    } catch (error) {
      const code = (error as { cause?: { code?: string } }).cause?.code;
      if (attempt >= 3 || code !== 'ECONNRESET') throw error;
    }
  }
}

/** Submits `code` on a target, with request fields `extra`, and waits for the finished execution. */
export type ParityJob = (t: Target, code: string, extra?: Record<string, unknown>) => Promise<any>;

/**
 * Starts the container service of a parity file (three jobs at once per backend) and returns its job runner:
 * each request carries the target's language and backend, then `defaults`, then the job's own `extra` (a field
 * of `extra` replaces the default of that name whole), and is waited for up to 280 s.
 */
export function useParityJobs(defaults: Record<string, unknown> = {}): ParityJob {
  const service = useContainerService({ AIRLOCK_CONCURRENCY: '3' });
  return (t, code, extra = {}) =>
    runExecution(
      service().url,
      { language: t.language, backend: t.backend, code, ...defaults, ...extra },
      280,
    );
}
