// The guest runtime's code cache, in a real host-like process: primed once, then accepted by V8 for every new
// isolate, and each prepared isolate begins exactly one job.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

/** Runs in a child process, as an isolate host does (isolated-vm needs --no-node-snapshot). */
const SCRIPT = `
import { GuestRuntimeCode } from ${JSON.stringify(new URL('./guest-runtime.ts', import.meta.url).href)};
import { primeGuestRuntime } from ${JSON.stringify(new URL('./runtime-cache.ts', import.meta.url).href)};
import { PreparedIsolate } from ${JSON.stringify(new URL('./prepared-isolate.ts', import.meta.url).href)};
const code = new GuestRuntimeCode();
await primeGuestRuntime(code);
const report = { cacheBytes: code.cacheBytes, jobs: [], secondBegin: null };
const written = [];
const handlers = {
  write: (stream, text) => { written.push(text); return true; },
  timerStart: () => true, timerClear: () => {}, timerRef: () => {}, uncaught: () => {}, exit: () => {},
  entryDone: () => {}, readFile: () => ({ ok: false, code: 'ENOENT', message: 'none' }),
};
for (let i = 0; i < 3; i += 1) {
  const prepared = await PreparedIsolate.create({ memoryMb: 32, code, onCatastrophicError: () => process.exit(70) });
  const config = { stdin: 'in' + i, args: [], env: {}, outputBytes: 100, maxTimers: 10 };
  prepared.begin(handlers, config);
  await prepared.context.eval('console.log(airlock.stdin)');
  try { prepared.begin(handlers, config); } catch (error) { report.secondBegin = error.message; }
  prepared.dispose();
}
report.written = written;
report.rejections = code.cacheRejections;
console.log(JSON.stringify(report));
`;

describe('GuestRuntimeCode', () => {
  it('primes a code cache that V8 accepts for every new isolate, and begins one job per isolate', async () => {
    const { stdout } = await run(
      process.execPath,
      ['--no-node-snapshot', '--disable-warning=ExperimentalWarning', '--input-type=module', '-e', SCRIPT],
      { env: {} },
    );
    const report = JSON.parse(stdout);
    expect(report.cacheBytes).toBeGreaterThan(0);
    expect(report.rejections).toBe(0);
    expect(report.written).toEqual(['in0\n', 'in1\n', 'in2\n']);
    expect(report.secondBegin).toBe('a job has already begun in this isolate');
  });
});
