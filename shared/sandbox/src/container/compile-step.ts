// The compile step of a template language (a `compile` argv in its template.json): run in the job's own
// container before the program, as a second runner started with `docker exec` (same user 65534, same
// read-only root, no capabilities, pids, memory and network limits of the container), under its own
// wall-clock limit and its own output cap, and reported apart from the program: `result.compile`. A warm
// container has its compile runner started with it (startCompileRunner), waiting for its job on stdin like the
// runner of pid 1, so the `docker exec` is off the job's path (a job that leased it before that exec answered
// waits for that one); a cold one, or one whose waiting runner died or failed to start, starts it here.
// It must never run the program after a compile that did not exit 0, let the compile's time count against the
// program's wall-clock limit, or let the compile's output reach the program's stdout/stderr.

import type { Duplex } from 'node:stream';
import type { CompileResult, ExecutionResult, ResolvedLimits } from '@airlock/protocol';
import { emptyResult } from '@airlock/protocol';
import type { SandboxRunOptions } from '../sandbox.ts';
import { type AttachedContainer, attachedStream, withDeadline } from './attached-container.ts';
import { type ContainerJobContext, runContainerJob } from './container-job.ts';
import { SANDBOX_USER } from './container-spec.ts';
import type { JobArchive } from './job-archive.ts';

/** The runner in every image (sandbox-images/CONTRACT.md). */
const RUNNER = '/opt/airlock/runner';

/** A compile runner started ahead of its job in a running container, waiting for the job on its stdin. */
export interface CompileRunner {
  readonly stream: AttachedContainer;
  /** Ends its stdin (it then exits without running anything): for a job that has no compile step. */
  close(): void;
}

/** The compile ended: `result` is set when the job ends here (compile_error, canceled, internal_error). */
export interface CompileOutcome {
  compile: CompileResult;
  result?: ExecutionResult;
}

/**
 * Runs the compile job (argv = the template's compile argv, the code and files in work/) in `container`,
 * whose own runner (pid 1) still waits for the program's job: on `prepared` (started with the container) when
 * it still waits, else on a runner started now.
 */
export async function runCompileStep(
  container: AttachedContainer,
  job: { archive: JobArchive; limits: ResolvedLimits },
  options: SandboxRunOptions,
  context: ContainerJobContext,
  prepared?: CompileRunner,
): Promise<CompileOutcome> {
  const started = performance.now();
  let stream: AttachedContainer;
  try {
    stream =
      prepared && !prepared.stream.isEnded
        ? prepared.stream
        : (await startCompileRunner(container, context.dockerTimeoutMs)).stream;
  } catch (error) {
    const reason = `could not start the compile step: ${error instanceof Error ? error.message : String(error)}`;
    const compile = { exit_code: null, stdout: '', stderr: '', wall_ms: elapsed(started) };
    return { compile, result: { ...emptyResult('internal_error', reason), compile } };
  }
  // The compile's output is not the program's: it is not streamed, only returned in result.compile.
  const ran = await runContainerJob(stream, job, { signal: options.signal }, context);
  const compile: CompileResult = {
    exit_code: ran.exit_code,
    stdout: ran.stdout,
    stderr: ran.stderr,
    wall_ms: ran.usage.wall_ms,
  };
  if (ran.outcome === 'success') return { compile };
  const empty = { stdout: '', stderr: '', truncated: { stdout: false, stderr: false } };
  if (ran.outcome === 'canceled' || ran.outcome === 'internal_error') {
    return { compile, result: { ...ran, ...empty, exit_code: null, signal: null, compile } };
  }
  const why =
    ran.outcome === 'error'
      ? ran.signal
        ? `the compiler was killed by ${ran.signal}`
        : `the compiler exited with ${ran.exit_code}`
      : (ran.reason ?? ran.outcome);
  return {
    compile,
    result: {
      ...ran,
      ...empty,
      outcome: 'compile_error',
      exit_code: null,
      signal: null,
      reason: `compile step failed: ${why}`,
      compile,
    },
  };
}

/** `docker exec` of a second runner as the sandbox user, its stdin and output hijacked like an attach. */
export async function startCompileRunner(
  container: AttachedContainer,
  timeoutMs: number,
): Promise<CompileRunner> {
  const exec = await withDeadline(
    container.container.exec({
      Cmd: [RUNNER],
      User: SANDBOX_USER,
      WorkingDir: '/work',
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      Privileged: false,
    }),
    timeoutMs,
    'exec create',
  );
  const socket: Duplex = await withDeadline(
    exec.start({ hijack: true, stdin: true }),
    timeoutMs,
    'exec start',
  );
  return { stream: attachedStream(container.container, socket), close: () => socket.destroy() };
}

function elapsed(since: number): number {
  return Math.round(performance.now() - since);
}
