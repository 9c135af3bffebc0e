// Memory the isolate's heap limit does not see, as a user sees it: WebAssembly memories, resizable and growable
// buffers, array buffers, Intl objects, async waiters and huge values handed to the host all count against the
// job's memory_mb. Every bomb ends with memory_limit (or a clear guest error where a feature refuses up front),
// the host process's resident memory measured from outside stays under its cap, and the next job runs on a
// fresh host. Ordinary buffers and WebAssembly within the budget keep working, and usage reports what the job
// held. Real isolate host processes in their own memory cgroups.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IsolateSandbox } from './isolate-sandbox.ts';
import { peakResidentBytes, runJob, watchHostMemory } from './test-jobs.ts';

const MIB = 1024 * 1024;
const MEMORY_MB = 64;
let sandbox: IsolateSandbox;

beforeAll(async () => {
  sandbox = new IsolateSandbox({ hosts: 1, defaultMemoryMb: MEMORY_MB });
  await sandbox.start();
  expect(sandbox.memoryCgroup).toBe('/sys/fs/cgroup/memory/airlock');
});

afterAll(async () => {
  await sandbox.close();
});

/** The pool's one host, once it has one (a host killed by the previous test is being replaced). */
async function onlyHost(): Promise<number> {
  for (;;) {
    const pids = sandbox.hostPids();
    if (pids.length === 1 && pids[0] !== undefined) return pids[0];
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Runs `code` under MEMORY_MB on the one host, watching that host's resident memory from outside. */
async function runWatched(code: string) {
  const pid = await onlyHost();
  const watch = await watchHostMemory(
    pid,
    () => sandbox.hostMemoryCap(pid)?.capBytes,
    () => runJob(sandbox, { code, limits: { memory_mb: MEMORY_MB } }),
  );
  return { pid, ...watch, result: watch.value.result };
}

const BOMBS: Record<string, string> = {
  'a WebAssembly memory bomb': [
    'const keep = [];',
    'for (;;) { const m = new WebAssembly.Memory({ initial: 160 }); new Uint8Array(m.buffer).fill(1); keep.push(m); }',
  ].join('\n'),
  'a WebAssembly grow loop': [
    'const m = new WebAssembly.Memory({ initial: 1 });',
    'for (let i = 1; ; i++) { m.grow(1); new Uint8Array(m.buffer, i * 65536, 65536).fill(1); }',
  ].join('\n'),
  'one native fill of a 1 GiB WebAssembly memory': [
    'const m = new WebAssembly.Memory({ initial: 16384 });',
    'new Uint8Array(m.buffer).fill(1);',
  ].join('\n'),
  'a resizable buffer resize bomb': [
    'const keep = [];',
    'for (;;) {',
    '  const b = new ArrayBuffer(0, { maxByteLength: 32 * 2 ** 20 });',
    '  b.resize(32 * 2 ** 20); new Uint8Array(b).fill(1); keep.push(b);',
    '}',
  ].join('\n'),
  'a growable SharedArrayBuffer bomb': [
    'const keep = [];',
    'for (;;) {',
    '  const b = new SharedArrayBuffer(0, { maxByteLength: 32 * 2 ** 20 });',
    '  b.grow(32 * 2 ** 20); new Uint8Array(b).fill(1); keep.push(b);',
    '}',
  ].join('\n'),
  'many medium array buffers kept alive':
    'const keep = []; for (;;) keep.push(new Uint8Array(1 << 20).fill(7));',
  'many SharedArrayBuffers kept alive':
    'const keep = []; for (;;) keep.push(new SharedArrayBuffer(1 << 20));',
  'Intl objects kept alive': [
    'const keep = [];',
    "for (;;) keep.push(new Intl.DateTimeFormat('en', { timeZone: 'UTC', dateStyle: 'full' }));",
  ].join('\n'),
  'Atomics.waitAsync waiters kept alive': [
    'const cell = new Int32Array(new SharedArrayBuffer(4));',
    'const keep = []; for (;;) keep.push(Atomics.waitAsync(cell, 0, 0));',
  ].join('\n'),
  'a 256 MiB rope thrown at top level (copied into the host)': [
    "let s = 'x'; for (let i = 0; i < 28; i++) s += s;",
    'throw s;',
  ].join('\n'),
};

describe('IsolateSandbox counts memory outside the heap against memory_mb', () => {
  it.each(Object.entries(BOMBS))(
    'ends %s with memory_limit, the host under its cap, the next job on a fresh host',
    async (_name, code) => {
      const { pid, peak, cap, result } = await runWatched(code);
      expect(result.outcome).toBe('memory_limit');
      expect(result.reason).toMatch(new RegExp(`^memory limit of ${MEMORY_MB} MB exceeded`));
      expect(result.exit_code).toBeNull();
      expect(Number.isFinite(cap)).toBe(true);
      expect(peak).toBeLessThanOrEqual(cap);
      const next = await runJob(sandbox, { code: 'console.log("next")' });
      expect(next.result).toMatchObject({ outcome: 'success', stdout: 'next\n' });
      expect(sandbox.hostPids()).not.toContain(pid);
    },
  );

  it('refuses a resizable buffer whose maxByteLength exceeds the budget with a RangeError in the guest', async () => {
    const { result } = await runWatched('new ArrayBuffer(0, { maxByteLength: 2 ** 30 });');
    expect(result.outcome).toBe('error');
    expect(result.exit_code).toBe(1);
    expect(result.stderr).toMatch(
      /^RangeError: ArrayBuffer: maxByteLength of 1073741824 bytes exceeds the job's memory limit of 64 MB\n/,
    );
  });

  it('refuses a growable SharedArrayBuffer beyond the budget the same way, catchable by the guest', async () => {
    const code = [
      'try { new SharedArrayBuffer(1, { maxByteLength: 65 * 2 ** 20 }); }',
      'catch (e) { console.log(e.name, e.message); }',
    ].join('\n');
    const { result } = await runWatched(code);
    expect(result).toMatchObject({ outcome: 'success', exit_code: 0 });
    expect(result.stdout).toBe(
      "RangeError SharedArrayBuffer: maxByteLength of 68157440 bytes exceeds the job's memory limit of 64 MB\n",
    );
  });
});

describe('IsolateSandbox keeps ordinary memory use within the budget working', () => {
  const held = (result: { usage: { memory_peak_bytes: number | null } }) =>
    result.usage.memory_peak_bytes ?? 0;
  // Memory outside the heap is read from the host's resident set, which also moves by a few MiB on its own
  // (memory of the previous job's isolate is still being given back when the next job begins).
  const NEARLY_40_MIB = 36 * MIB;

  it('runs 40 MiB of typed arrays under 64 MB and reports them in memory_peak_bytes', async () => {
    const code = [
      'const keep = []; for (let i = 0; i < 40; i++) keep.push(new Uint8Array(1 << 20).fill(i));',
      'console.log(keep.reduce((n, a) => n + a[5], 0));',
    ].join('\n');
    const { result } = await runWatched(code);
    expect(result).toMatchObject({ outcome: 'success', stdout: '780\n' });
    expect(held(result)).toBeGreaterThanOrEqual(40 * MIB);
    expect(held(result)).toBeLessThanOrEqual(MEMORY_MB * MIB);
  });

  it('runs WebAssembly, and reports a 40 MiB memory it filled in memory_peak_bytes', async () => {
    const code = [
      // (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
      'const bytes = new Uint8Array([0,97,115,109,1,0,0,0,1,7,1,96,2,127,127,1,127,3,2,1,0,7,7,1,3,97,100,100,0,0,',
      '  10,9,1,7,0,32,0,32,1,106,11]);',
      'const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes));',
      'const memory = new WebAssembly.Memory({ initial: 640 });',
      'new Uint8Array(memory.buffer).fill(3);',
      'console.log(instance.exports.add(2, 40), memory.buffer.byteLength);',
    ].join('\n');
    const { result } = await runWatched(code);
    expect(result).toMatchObject({ outcome: 'success', stdout: `42 ${40 * MIB}\n` });
    expect(held(result)).toBeGreaterThanOrEqual(NEARLY_40_MIB);
    expect(held(result)).toBeLessThanOrEqual(MEMORY_MB * MIB);
  });

  it('runs a resizable buffer within the budget, and reports what it held', async () => {
    const code = [
      'const b = new ArrayBuffer(0, { maxByteLength: 48 * 2 ** 20 });',
      'b.resize(40 * 2 ** 20); new Uint8Array(b).fill(9);',
      'console.log(b.resizable, b.byteLength, b.maxByteLength, b instanceof ArrayBuffer);',
    ].join('\n');
    const { result } = await runWatched(code);
    expect(result).toMatchObject({ outcome: 'success', stdout: `true ${40 * MIB} ${48 * MIB} true\n` });
    expect(held(result)).toBeGreaterThanOrEqual(NEARLY_40_MIB);
    expect(held(result)).toBeLessThanOrEqual(MEMORY_MB * MIB);
  });

  it('keeps ArrayBuffer itself: subclasses, statics, species and structuredClone behave as before', async () => {
    const code = [
      'class Sub extends ArrayBuffer {}',
      'const s = new Sub(4, { maxByteLength: 64 });',
      'const plain = new Uint8Array(4).buffer;',
      'console.log(s instanceof Sub, s instanceof ArrayBuffer, s.resizable, plain.constructor === ArrayBuffer,',
      '  ArrayBuffer.isView(new Uint8Array(1)), plain.slice(0, 2) instanceof ArrayBuffer,',
      '  structuredClone(new ArrayBuffer(3)).byteLength, ArrayBuffer.name, new ArrayBuffer(8).resizable);',
    ].join('\n');
    const { result } = await runWatched(code);
    expect(result).toMatchObject({
      outcome: 'success',
      stdout: 'true true true true true true 3 ArrayBuffer false\n',
    });
  });
});

describe('IsolateSandbox never copies a huge guest value into the host', () => {
  const rope = "let s = 'x'; for (let i = 0; i < 28; i++) s += s;";

  it.each([
    [
      'airlock.readFile',
      'airlock.readFile(s)',
      'Error: ENAMETOOLONG: name too long (268435456 characters), open',
    ],
    ['new URL', 'new URL(s)', 'TypeError: Invalid URL'],
    [
      'a fetch body',
      "await fetch('http://x.test/', { method: 'POST', body: s })",
      'TypeError: fetch failed: request body exceeds 4194304 bytes',
    ],
    ['a fetch URL', "await fetch('http://x.test/' + s)", 'TypeError: fetch failed: invalid URL'],
  ])('refuses a 256 MiB rope passed to %s inside the guest', async (_name, call, message) => {
    const code = `${rope}\ntry { ${call}; } catch (e) { console.log(\`\${e.name}: \${e.message}\`); }`;
    const pid = await onlyHost();
    const before = peakResidentBytes(pid);
    const { result } = await runWatched(code);
    expect(result).toMatchObject({ outcome: 'success', stdout: `${message}\n` });
    expect(peakResidentBytes(pid) - before).toBeLessThan(32 * MIB);
  });
});
