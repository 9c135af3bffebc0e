// Behaviour of the isolate backend a user of run() sees for ordinary programs: output, inputs, modules,
// TypeScript, async code and errors. Real isolate host processes, no fakes.

import { describe, expect, it } from 'vitest';
import { runJob, useIsolateSandbox } from './test-jobs.ts';

const sandbox = useIsolateSandbox(2);

describe('IsolateSandbox runs programs', () => {
  it('runs JavaScript hello world', async () => {
    const { result } = await runJob(sandbox(), { code: 'console.log("hello world")' });
    expect(result).toMatchObject({
      outcome: 'success',
      exit_code: 0,
      signal: null,
      stdout: 'hello world\n',
      stderr: '',
      reason: null,
      truncated: { stdout: false, stderr: false },
    });
    expect(result.usage.wall_ms).toBeGreaterThanOrEqual(0);
    expect(result.usage.cpu_ms).toBeGreaterThan(0);
    expect(result.usage.memory_peak_bytes).toBeGreaterThan(0);
  });

  it('runs TypeScript with types stripped', async () => {
    const code =
      'interface Who { name: string }\nconst who: Who = { name: "ts" };\nconsole.log("hello " + who.name);';
    const { result } = await runJob(sandbox(), { language: 'typescript', code });
    expect(result).toMatchObject({ outcome: 'success', exit_code: 0, stdout: 'hello ts\n', stderr: '' });
  });

  it('reports a TypeScript syntax error as an error with the message on stderr', async () => {
    const { result } = await runJob(sandbox(), { language: 'typescript', code: 'const x: = 1;' });
    expect(result.outcome).toBe('error');
    expect(result.exit_code).toBe(1);
    expect(result.stderr).toContain('TypeScript error in main.ts');
  });

  it('captures both streams, formats like Node, and streams chunks through onOutput', async () => {
    const code = [
      'console.log("out", 1, { a: 1, b: "x" }, [1, 2, 3]);',
      'console.error("err", null, undefined);',
      'console.info("%s is %d", "n", 42);',
      'console.warn(new Map([["k", true]]));',
    ].join('\n');
    const { result, chunks } = await runJob(sandbox(), { code });
    expect(result.outcome).toBe('success');
    expect(result.stdout).toBe("out 1 { a: 1, b: 'x' } [ 1, 2, 3 ]\nn is 42\n");
    expect(result.stderr).toBe("err null undefined\nMap(1) { 'k' => true }\n");
    const streamed = (stream: string) =>
      chunks
        .filter((c) => c.stream === stream)
        .map((c) => c.chunk)
        .join('');
    expect(streamed('stdout')).toBe(result.stdout);
    expect(streamed('stderr')).toBe(result.stderr);
  });

  it('hands over stdin, args, env and the job files, binary files byte for byte', async () => {
    const binary = new Uint8Array([0xff, 0xfe, 0x00, 0x41, 0xc3, 0x28, 0x80]);
    const code = [
      'console.log(JSON.stringify({ stdin: airlock.stdin, args: airlock.args, env: airlock.env }));',
      'console.log(airlock.readFile("data/notes.txt", "utf8"));',
      'const bytes = airlock.readFile("blob.bin");',
      'console.log(bytes instanceof Uint8Array, Array.from(bytes).join(","));',
      'try { airlock.readFile("missing.txt") } catch (e) { console.log(e.code, e.message) }',
      'console.log(Object.isFrozen(airlock));',
    ].join('\n');
    const { result } = await runJob(sandbox(), {
      code,
      stdin: 'line one\nline two',
      args: ['--flag', 'value'],
      env: { GREETING: 'hi' },
      files: { 'data/notes.txt': 'héllo file', 'blob.bin': binary },
    });
    expect(result.outcome).toBe('success');
    expect(result.stdout.split('\n')).toEqual([
      JSON.stringify({ stdin: 'line one\nline two', args: ['--flag', 'value'], env: { GREETING: 'hi' } }),
      'héllo file',
      `true ${Array.from(binary).join(',')}`,
      "ENOENT ENOENT: no such file or directory, open 'missing.txt'",
      'true',
      '',
    ]);
  });

  it('imports the job’s own JavaScript and TypeScript files', async () => {
    const { result } = await runJob(sandbox(), {
      language: 'typescript',
      code: 'import { twice } from "./lib/math.ts";\nimport { name } from "./lib/name.js";\nconsole.log(name, twice(21));',
      files: {
        'lib/math.ts':
          'import { factor } from "./factor.ts";\nexport const twice = (n: number): number => n * factor;',
        'lib/factor.ts': 'export const factor: number = 2;',
        'lib/name.js': 'export { name } from "../shared/name.js";',
        'shared/name.js': 'export const name = "answer";',
      },
    });
    expect(result).toMatchObject({ outcome: 'success', stdout: 'answer 42\n' });
  });

  it('refuses to import anything but the job’s files', async () => {
    for (const specifier of ['fs', 'node:child_process', '/etc/passwd', '../outside.js', './missing.js']) {
      const { result } = await runJob(sandbox(), { code: `import x from ${JSON.stringify(specifier)};` });
      expect(result.outcome, specifier).toBe('error');
      expect(result.exit_code).toBe(1);
      expect(result.stderr).toMatch(/Cannot (import|find module)/);
    }
  });

  it('waits for top-level await and timers before reporting success', async () => {
    const code = [
      'const order = [];',
      // Far later than the rest, so a busy machine that fires due timers in one batch keeps the order.
      'setTimeout(() => { order.push("late timer"); console.log(order.join(",")); }, 500);',
      'await new Promise((resolve) => setTimeout(resolve, 10));',
      'order.push("after await");',
      'const id = setInterval(() => { order.push("tick"); clearInterval(id); }, 1);',
      'queueMicrotask(() => order.push("microtask"));',
    ].join('\n');
    const { result } = await runJob(sandbox(), { code });
    expect(result).toMatchObject({ outcome: 'success', exit_code: 0 });
    expect(result.stdout).toBe('after await,microtask,tick,late timer\n');
  });

  it('reports an uncaught error as outcome error, exit code 1, stack on stderr', async () => {
    const { result } = await runJob(sandbox(), {
      code: 'function boom() { throw new TypeError("bad thing") }\nboom();',
    });
    expect(result).toMatchObject({ outcome: 'error', exit_code: 1, signal: null, reason: null });
    expect(result.stderr).toMatch(/^TypeError: bad thing\n {4}at boom \(file:\/\/\/job\/main\.js:1:/);
    expect(result.stderr).not.toContain('isolated-vm');
  });

  it('reports an unhandled rejection and an error thrown in a timer the same way', async () => {
    for (const code of [
      'Promise.reject(new Error("rejected"));',
      'setTimeout(() => { throw new Error("rejected") }, 1);',
    ]) {
      const { result } = await runJob(sandbox(), { code: `console.log("before");\n${code}` });
      expect(result).toMatchObject({ outcome: 'error', exit_code: 1, stdout: 'before\n' });
      expect(result.stderr).toMatch(/^Error: rejected\n/);
    }
  });

  it('ends with the code given to airlock.exit and drops later output', async () => {
    const { result } = await runJob(sandbox(), {
      code: 'console.log("a"); airlock.exit(3); console.log("b");',
    });
    expect(result).toMatchObject({ outcome: 'error', exit_code: 3, stdout: 'a\n' });
  });

  it('reports a top-level await that can never settle', async () => {
    const { result } = await runJob(sandbox(), { code: 'await new Promise(() => {});' });
    expect(result).toMatchObject({ outcome: 'error', exit_code: 13 });
    expect(result.stderr).toContain('unsettled top-level await');
  });

  it('lists one runtime per language with the V8 version', () => {
    expect(sandbox().runtimes()).toEqual([
      { language: 'javascript', backend: 'isolate', version: `v8 ${process.versions.v8}`, available: true },
      { language: 'typescript', backend: 'isolate', version: `v8 ${process.versions.v8}`, available: true },
    ]);
  });
});
