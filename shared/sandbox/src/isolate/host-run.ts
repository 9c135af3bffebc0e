// Supervises one job on one leased isolate host, from the parent's side: sends it, collects streamed output,
// forwards cancel, and enforces the last-resort deadline and memory cap by killing a host that does not answer
// in time or holds more than its cap (see host-memory-cap.ts). Turns a host that dies mid-job into a clear
// result. Must never resolve twice or wait on a dead host.

import type { ExecutionResult, Outcome } from '@airlock/protocol';
import { sentinelEnv } from '../egress-access.ts';
import type { SandboxJob, SandboxRunOptions } from '../sandbox.ts';
import { CollectedOutput } from './collected-output.ts';
import { type HostJob, type HostJobResult, isHostJob, MIN_MEMORY_MB } from './host-messages.ts';
import { describeExit, type HostExit, type IsolateHost } from './isolate-host.ts';

export interface HostRunSettings {
  /** How long a host may take past the deadline (or after a cancel) before it is killed. */
  killGraceMs: number;
  /** Sees the host's own report of the job (session hosts add session_end), before the result settles. */
  onHostResult?: (result: HostJobResult) => void;
}

type Ending = { outcome: Outcome; reason: string | null };

/** How often the parent reads a running host's resident memory against its cap. */
const MEMORY_WATCH_MS = 25;
const MIB = 1024 * 1024;

/** A job running on a host; `end` stops it early from outside (the sandbox is closing). */
export interface HostRun {
  result: Promise<ExecutionResult>;
  end(ending: Ending): void;
}

export function runOnHost(
  host: IsolateHost,
  dispatchId: string,
  job: SandboxJob,
  options: SandboxRunOptions,
  settings: HostRunSettings,
): HostRun {
  const startedAt = performance.now();
  const output = new CollectedOutput(job.limits.output_bytes, options.onOutput);
  const done = Promise.withResolvers<ExecutionResult>();
  let finished = false;
  let killedFor: Ending | null = null;
  let killTimer: NodeJS.Timeout | undefined;
  let stopHearingExit = () => {};
  const memoryMb = Math.max(MIN_MEMORY_MB, host.memory.memoryMb ?? job.limits.memory_mb);
  const capEnding = (detail: string): Ending => ({
    outcome: 'memory_limit',
    reason: `memory limit of ${memoryMb} MB exceeded; the isolate host process ${detail}`,
  });

  const killAfter = (ms: number, ending: Ending) => {
    clearTimeout(killTimer);
    killTimer = setTimeout(() => {
      killedFor = ending;
      host.kill();
    }, ms);
  };

  const finish = (result: Omit<ExecutionResult, 'stdout' | 'stderr'>) => {
    if (finished) return;
    finished = true;
    clearTimeout(deadline);
    clearTimeout(killTimer);
    clearInterval(memoryWatch);
    options.signal.removeEventListener('abort', onAbort);
    stopHearingExit();
    host.detach();
    done.resolve({ ...result, stdout: output.text('stdout'), stderr: output.text('stderr') });
  };

  const fromHost = (result: HostJobResult) => {
    settings.onHostResult?.(result);
    finish({
      outcome: result.outcome,
      exit_code: result.exit_code,
      signal: null,
      truncated: {
        stdout: result.truncated.stdout || output.truncated.stdout,
        stderr: result.truncated.stderr || output.truncated.stderr,
      },
      usage: result.usage,
      reason: result.reason,
      ...(result.value !== undefined ? { value: result.value } : {}),
      ...(result.exception !== undefined ? { exception: result.exception } : {}),
    });
  };

  const fromParent = (ending: Ending) =>
    finish({
      ...ending,
      exit_code: null,
      signal: null,
      truncated: { ...output.truncated },
      usage: { cpu_ms: null, wall_ms: Math.round(performance.now() - startedAt), memory_peak_bytes: null },
    });

  const onExit = (exit: HostExit) => {
    if (finished) return;
    if (killedFor !== null) return fromParent(killedFor);
    if (exit.fatal === 'out-of-memory') {
      const reason = `memory limit of ${memoryMb} MB exceeded; the isolate ran out of memory and took its host process down`;
      return fromParent({ outcome: 'memory_limit', reason });
    }
    if (exit.memoryCapped) return fromParent(capEnding('reached its memory cgroup limit and was killed'));
    const cause = exit.fatal === 'catastrophic' ? 'after a catastrophic isolated-vm error, ' : '';
    fromParent({
      outcome: 'internal_error',
      reason: `isolate host process died (${cause}${describeExit(exit)})`,
    });
  };

  const onAbort = () => {
    host.cancel(dispatchId);
    killAfter(settings.killGraceMs, {
      outcome: 'canceled',
      reason: 'canceled by the caller; the isolate host did not stop in time and was killed',
    });
  };

  const wall = job.limits.wall_time_ms;
  const deadline = setTimeout(() => {
    killedFor = {
      outcome: 'timeout',
      reason: `wall time limit of ${wall} ms exceeded; the isolate host did not stop in time and was killed`,
    };
    host.kill();
  }, wall + settings.killGraceMs);

  const memoryWatch = setInterval(() => {
    if (killedFor !== null || !host.memory.over()) return;
    const capMb = Math.round(host.memory.capBytes / MIB);
    killedFor = capEnding(`held more than its cap of ${capMb} MB and was killed`);
    host.kill();
  }, MEMORY_WATCH_MS);

  // The guest sees only its credential sentinels; the proxy URL with the run's credential stays host-side.
  const egress = job.egress;
  const hostJob: HostJob = {
    id: dispatchId,
    language: job.language,
    code: job.code,
    files: job.files.map((file) => ({ path: file.path, content: file.content })),
    stdin: job.stdin,
    args: job.args,
    env: egress === undefined ? job.env : { ...job.env, ...sentinelEnv(egress) },
    limits: job.limits,
    ...(egress === undefined ? {} : { egressProxy: egress.proxyUrl }),
  };
  if (!isHostJob(hostJob)) {
    fromParent({ outcome: 'internal_error', reason: 'the job did not pass the isolate host message check' });
  } else {
    stopHearingExit = host.whenExited(onExit);
    options.signal.addEventListener('abort', onAbort, { once: true });
    host.run(hostJob, { onOutput: (chunks) => output.add(chunks), onResult: fromHost });
    if (options.signal.aborted) onAbort();
  }

  return {
    result: done.promise,
    end: (ending) => {
      killedFor = ending;
      if (!finished) host.kill();
    },
  };
}
