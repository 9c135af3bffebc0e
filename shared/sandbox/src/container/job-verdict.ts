// Turns how a container job ended into its ExecutionResult: exit code or signal from the runner's marker, the
// OOM kill from dockerd (container-exit.ts; never guessed from exit 137 or SIGKILL alone), the limit Airlock
// enforced itself (here, or in the sandbox: the runner's own wall-clock deadline), or a runner refusal.
// It must never call a guest fault an internal error, nor the reverse.

import { constants } from 'node:os';
import type { ExecutionResult, OutputFile, ResolvedLimits } from '@airlock/protocol';
import type Dockerode from 'dockerode';
import type { AttachedContainer } from './attached-container.ts';
import { type ContainerExit, containerExit } from './container-exit.ts';
import type { ContainerRuntime } from './container-spec.ts';
import type { StderrSummary } from './end-marker.ts';
import type { OutputCaps } from './job-archive.ts';
import type { OutputBudget } from './output-budget.ts';
import { readOutputFiles } from './output-files.ts';

export type JobEnd =
  /** Both end markers arrived: the runner reported the program's end. */
  | {
      kind: 'markers';
      summary: StderrSummary;
      tar: Buffer;
      tarDropped: boolean;
      memoryPeak: Promise<number | null>;
    }
  /** Airlock stopped the container itself. */
  | {
      kind: 'stopped';
      outcome: 'timeout' | 'canceled' | 'output_limit';
      reason: string;
      memoryPeak: number | null;
    }
  /** The stream ended without markers: OOM kill of the whole container, a refused job, the runner's own
   * wall-clock deadline, or a crash. */
  | { kind: 'ended' }
  | { kind: 'malformed' };

export interface VerdictContext {
  container: AttachedContainer;
  budget: OutputBudget;
  limits: ResolvedLimits;
  wallMs: number;
  outputCaps: OutputCaps;
  dockerTimeoutMs: number;
  docker: Dockerode;
  runtime: ContainerRuntime;
}

const MIB = 1024 * 1024;
const REJECTED = /\n?\x1eAIRLOCK-REJECTED ([^\n]*)\n?/;
/** The runner's exit status when it ended the job at its wall-clock deadline (runner/supervise.h). */
const RUNNER_DEADLINE_EXIT = 3;
/** The runner's exit status when it refused the job archive, before any program ran (runner/runner.c). */
const RUNNER_REFUSED_EXIT = 2;

export async function judgeJob(end: JobEnd, context: VerdictContext): Promise<ExecutionResult> {
  const { budget, limits, wallMs } = context;
  const output = budget.finish();
  const result = (fields: Partial<ExecutionResult> & Pick<ExecutionResult, 'outcome'>): ExecutionResult => ({
    exit_code: null,
    signal: null,
    stdout: output.stdout,
    stderr: output.stderr,
    truncated: { ...budget.truncated },
    usage: { cpu_ms: null, wall_ms: wallMs, memory_peak_bytes: null },
    reason: null,
    ...fields,
  });
  const memoryLimit = () =>
    result({
      outcome: 'memory_limit',
      signal: 'SIGKILL',
      reason: `memory limit of ${limits.memory_mb} MB exceeded`,
    });

  switch (end.kind) {
    case 'stopped':
      return result({
        outcome: end.outcome,
        signal: 'SIGKILL',
        reason: end.reason,
        usage: { cpu_ms: null, wall_ms: wallMs, memory_peak_bytes: end.memoryPeak },
      });
    case 'malformed':
      return result({ outcome: 'internal_error', reason: 'the sandbox runner sent a malformed end marker' });
    case 'ended': {
      const state = await exitOf(context);
      if (state.oomKilled) {
        const verdict = memoryLimit();
        verdict.usage.memory_peak_bytes = limits.memory_mb * MIB;
        return verdict;
      }
      // Only the runner (pid 1) decides the container's exit status: a program cannot forge this one.
      if (state.exitCode === RUNNER_DEADLINE_EXIT) {
        return result({
          outcome: 'timeout',
          signal: 'SIGKILL',
          reason: `wall time limit of ${limits.wall_time_ms} ms exceeded`,
        });
      }
      // A refusal comes before any program ran: the runner's exit status, and its line alone on the streams.
      const refused = REJECTED.exec(output.stderr);
      const alone = output.stdout === '' && output.stderr.replace(REJECTED, '') === '';
      if (refused && alone && state.exitCode === RUNNER_REFUSED_EXIT) {
        return result({
          outcome: 'rejected',
          stderr: '',
          reason: `the sandbox refused the job: ${refused[1]}`,
        });
      }
      // Under gVisor pid 1 is not shielded from its own sandbox: a program of the same uid can SIGKILL the
      // runner (every catchable signal it ignores). That is the program's doing, not Airlock's.
      const signal = runnerSignal(state.exitCode);
      if (signal !== null && context.runtime === 'runsc') {
        return result({
          outcome: 'error',
          signal,
          reason: `the program ended the sandbox runner (pid 1) with ${signal}`,
        });
      }
      return result({
        outcome: 'internal_error',
        reason: `the sandbox container ended without a result (${state.description})`,
      });
    }
    case 'markers': {
      const { summary } = end;
      const peak = (await end.memoryPeak) ?? (summary.maxrssKb > 0 ? summary.maxrssKb * 1024 : null);
      const usage = { cpu_ms: summary.cpuMs, wall_ms: wallMs, memory_peak_bytes: peak };
      const files = await outputFiles(end.tar, context.outputCaps.maxBytes);
      // A program killed by SIGKILL that nobody here sent: the kernel's OOM killer, if dockerd saw one.
      if (summary.signal === 'SIGKILL' && (await exitOf(context)).oomKilled) {
        return {
          ...memoryLimit(),
          usage: { ...usage, memory_peak_bytes: peak ?? limits.memory_mb * MIB },
          files,
        };
      }
      // RLIMIT_CPU (meta/cpu_ms): SIGXCPU at the limit, SIGKILL a second later if the program ignored it.
      if (
        summary.signal === 'SIGXCPU' ||
        (summary.signal === 'SIGKILL' && summary.cpuMs >= limits.cpu_time_ms)
      ) {
        return result({
          outcome: 'timeout',
          signal: summary.signal,
          reason: `cpu time limit of ${limits.cpu_time_ms} ms exceeded`,
          usage,
          files,
        });
      }
      if (summary.signal !== null) {
        return result({ outcome: 'error', signal: summary.signal, usage, files });
      }
      const exitCode = summary.exitCode ?? 0;
      return result({ outcome: exitCode === 0 ? 'success' : 'error', exit_code: exitCode, usage, files });
    }
  }
}

/** The signal that ended the runner, from the container's exit status (128 + signal number), or null. */
function runnerSignal(exitCode: number | null): string | null {
  if (exitCode === null || exitCode <= 128 || exitCode > 128 + 64) return null;
  const number = exitCode - 128;
  const name = Object.entries(constants.signals).find(([, n]) => n === number)?.[0];
  return name ?? `signal ${number}`;
}

async function outputFiles(tar: Buffer, maxBytes: number): Promise<OutputFile[]> {
  try {
    return (await readOutputFiles(tar, maxBytes)).files;
  } catch {
    // A damaged archive costs the files, not the result.
    return [];
  }
}

function exitOf(context: VerdictContext): Promise<ContainerExit> {
  return containerExit(context.docker, context.container.container, context.dockerTimeoutMs);
}
