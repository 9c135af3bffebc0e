// How a ready-made kernel image is made (ready-kernel-images.ts keeps it): a session container of the image is
// booted like any other (same hardening, labels, memory), its kernel given a throwaway key, one cell imports the
// libraries the image has (numpy, pandas, matplotlib with pyplot; into the interpreter's modules, binding no name
// in the cells' namespace), and the kernel is checkpointed between cells. No request's code, files, variables or
// key ever enter it. It must never leave its container behind: the lease is closed on every path, also when the
// backend closes mid-make (the signal).

import { randomBytes } from 'node:crypto';
import type { ResolvedLimits } from '@airlock/protocol';
import type { SessionKernelState } from '../../sandbox.ts';
import type { ContainerSessionContext } from './container-session-context.ts';
import { openContainerSession } from './open-container-session.ts';
import type { MakeReadyImage } from './ready-kernel-images.ts';

/** The warm-up cell: the python image's libraries imported where the image has them, no name left behind. */
export const WARM_UP_CODE = [
  'import importlib as _airlock_importlib',
  'for _airlock_name in ("numpy", "pandas", "matplotlib", "matplotlib.pyplot"):',
  '    try:',
  '        _airlock_importlib.import_module(_airlock_name)',
  '    except ImportError:',
  '        pass',
  'del _airlock_importlib, _airlock_name',
].join('\n');

/** A MakeReadyImage for sessions of `context`'s image with `limits.memory_mb`. */
export function makeReadyKernel(context: ContainerSessionContext, limits: ResolvedLimits): MakeReadyImage {
  return async (folder: string, signal: AbortSignal): Promise<SessionKernelState> => {
    signal.throwIfAborted();
    const tag = randomBytes(9).toString('base64url');
    const lease = await openContainerSession(
      { sessionId: `ready_${tag}`, language: 'python', limits },
      context,
    );
    const onAbort = () => void lease.close();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      signal.throwIfAborted();
      const result = await lease.run(
        {
          executionId: `ready_${tag}`,
          code: WARM_UP_CODE,
          files: [],
          stdin: '',
          limits: {
            ...limits,
            wall_time_ms: context.startTimeoutMs,
            cpu_time_ms: context.startTimeoutMs,
            output_bytes: 64 * 1024,
          },
        },
        { signal },
      );
      if (result.outcome !== 'success') {
        throw new Error(
          `the warm-up cell ended ${result.outcome}: ${result.reason ?? result.stderr.slice(-300)}`,
        );
      }
      return await lease.checkpoint(folder);
    } finally {
      signal.removeEventListener('abort', onAbort);
      await lease.close();
    }
  };
}
