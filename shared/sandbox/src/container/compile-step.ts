// The compile step of a template language (a `compile` argv in its template.json): the first of two jobs the
// container's own runner (pid 1) reads from its stdin, marked `meta/next` so that the runner, once the
// compile's processes are all dead and its end markers written, reads the program's job from the same stream
// (sandbox-images/CONTRACT.md). It runs in the job's own container (same user 65534, same read-only root, no
// capabilities, pids, memory and network limits of the container) under its own wall-clock and CPU limits and
// its own output cap, and is reported apart from the program: `result.compile`. No second process is started
// with `docker exec`: a warm container of a compiled template costs what any warm container costs.
// It must never run the program after a compile that did not exit 0, let the compile's time count against the
// program's wall-clock limit, or let the compile's output reach the program's stdout/stderr.

import type { CompileResult, ExecutionResult, ResolvedLimits } from '@airlock/protocol';
import type { SandboxRunOptions } from '../sandbox.ts';
import type { AttachedContainer } from './attached-container.ts';
import { type ContainerJobContext, runContainerJob } from './container-job.ts';
import type { JobArchive } from './job-archive.ts';

/** The compile ended: `result` is set when the job ends here (compile_error, canceled, internal_error). */
export interface CompileOutcome {
  compile: CompileResult;
  result?: ExecutionResult;
}

/**
 * Runs the compile job (argv = the template's compile argv, the code and files in work/, `meta/next`) in
 * `container`, whose runner then waits for the program's job on the same stream.
 */
export async function runCompileStep(
  container: AttachedContainer,
  job: { archive: JobArchive; limits: ResolvedLimits },
  options: SandboxRunOptions,
  context: ContainerJobContext,
): Promise<CompileOutcome> {
  // The compile's output is not the program's: it is not streamed, only returned in result.compile.
  const ran = await runContainerJob(container, job, { signal: options.signal }, context);
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
