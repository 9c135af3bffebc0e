// Primes the guest runtime's V8 code cache once per isolate host: in a throwaway isolate that runs only the
// runtime and a warm-up of the paths a typical job takes (begin, console, timers), then captures the cache, so
// every job isolate starts from bytecode for those functions instead of compiling them in the job's first call.
// Must never run in an isolate a job will use, and never let anything but our own code shape the cache.

import ivm from 'isolated-vm';
import { type BridgeHandlers, createBridge } from './guest-bridge.ts';
import { beginGuestJob, type GuestRuntimeCode, installGuestRuntime } from './guest-runtime.ts';
import { MAX_PENDING_TIMERS } from './guest-timers.ts';

const PRIMING_MEMORY_MB = 32;

/** Exercises what most jobs call first; output and timers go nowhere. */
const WARM_UP = `
console.log('hello, world');
console.log('%s %d', 'text', 1.5, 2, { a: 'b', c: [1, 'two', null, undefined, true] });
console.error('warm-up');
clearTimeout(setTimeout(() => {}, 1));
queueMicrotask(() => {});
`;

const IGNORE: BridgeHandlers = {
  write: () => true,
  timerStart: () => true,
  timerClear: () => {},
  timerRef: () => {},
  uncaught: () => {},
  exit: () => {},
  entryDone: () => {},
  readFile: () => ({ ok: false, code: 'ENOENT', message: 'no files while priming' }),
};

/** Leaves `code` with a cache captured after a warm-up; on any failure it keeps the plain compile cache. */
export async function primeGuestRuntime(code: GuestRuntimeCode): Promise<void> {
  const isolate = new ivm.Isolate({ memoryLimit: PRIMING_MEMORY_MB });
  try {
    const context = await isolate.createContext();
    const begin = await installGuestRuntime(
      isolate,
      context,
      createBridge(() => IGNORE),
      code,
    );
    const config = {
      stdin: '',
      args: [],
      env: {},
      outputBytes: 1 << 20,
      maxTimers: MAX_PENDING_TIMERS,
      memoryBytes: 0,
    };
    beginGuestJob(begin, config).release();
    await context.eval(WARM_UP, { timeout: 1000, filename: 'airlock:warm-up' });
    await code.captureCache(isolate);
  } catch {
    // Priming only saves time; jobs still compile the runtime (from the plain cache) without it.
  } finally {
    isolate.dispose();
  }
}
