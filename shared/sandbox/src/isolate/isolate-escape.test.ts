// Attack class 19 (isolate tricks) and friends: no host object is reachable from guest code, hostile values
// passed to the runtime's host-backed functions cannot crash or confuse the host, and the job's files are the
// only files there are. Real isolate host processes, no fakes.

import { describe, expect, it } from 'vitest';
import { runJob, useIsolateSandbox } from './test-jobs.ts';

const sandbox = useIsolateSandbox(2);

async function stdoutOf(code: string, files?: Record<string, string>) {
  const { result } = await runJob(sandbox(), files === undefined ? { code } : { code, files });
  expect(result.stderr).toBe('');
  expect(result.outcome).toBe('success');
  return result.stdout;
}

describe('guest code reaches no host object', () => {
  it('finds no process, require or host global through any constructor chain', async () => {
    const code = [
      'const probes = [globalThis, console.log, airlock.readFile, setTimeout, URL, TextEncoder, crypto.getRandomValues];',
      'for (const p of probes) {',
      '  const F = p.constructor.constructor;',
      '  console.log(F("return typeof process")(), F("return typeof require")(), F("return this")() === globalThis);',
      '}',
      'for (const name of ["process", "require", "module", "Buffer", "global", "ivm", "_ivm", "Deno", "Bun"]) {',
      '  if (typeof globalThis[name] !== "undefined") console.log("found", name);',
      '}',
      'console.log(typeof globalThis[Symbol.for("airlock.entryDone")]);',
      'try { this.constructor.constructor("return process")() } catch (e) { console.log(e.name) }',
    ].join('\n');
    const lines = (await stdoutOf(code)).trimEnd().split('\n');
    expect(lines).toEqual([...Array(7).fill('undefined undefined true'), 'undefined', 'TypeError']);
  });

  it('gets no runtime function or receiver from stack-trace call sites', async () => {
    const code = [
      'const seen = new Set();',
      'Error.prepareStackTrace = (_error, sites) => {',
      '  for (const site of sites) seen.add(typeof site.getFunction() + "/" + typeof site.getThis());',
      '  return "";',
      '};',
      'const trap = () => { new Error("probe").stack; return undefined; };',
      'console.log(new Proxy({}, { getPrototypeOf: trap, ownKeys: () => { trap(); return []; } }));',
      'setTimeout(() => { new Error("in timer").stack; console.log([...seen].join(" ")); }, 1);',
    ].join('\n');
    const out = await stdoutOf(code);
    // Module code and the runtime are strict: V8 hides the function and receiver of every such frame.
    expect(out.trimEnd().split('\n').at(-1)).toBe('undefined/undefined');
  });

  it('fails dynamic import() of anything, including host modules', async () => {
    const code =
      'for (const s of ["fs", "node:child_process", "./main.js"]) { try { await import(s); console.log("imported", s) } catch (e) { console.log(e.message) } }';
    expect(await stdoutOf(code)).toBe('Not supported\nNot supported\nNot supported\n');
  });

  it('keeps airlock frozen and read-only', async () => {
    const code = [
      '"use strict";',
      'for (const attempt of [() => { airlock.stdin = "x" }, () => { airlock.env.X = "1" }, () => { airlock.args.push("a") }, () => { globalThis.airlock = {} }]) {',
      '  try { attempt(); console.log("changed") } catch (e) { console.log(e.name) }',
      '}',
    ].join('\n');
    expect(await stdoutOf(code)).toBe('TypeError\nTypeError\nTypeError\nTypeError\n');
  });
});

describe('hostile values handed to host-backed functions', () => {
  it('formats Proxies, throwing traps, getters and toJSON in console.log without running host code', async () => {
    const code = [
      'const trap = () => { throw new Error("trap ran") };',
      'const hostile = new Proxy({}, { get: trap, ownKeys: trap, getOwnPropertyDescriptor: trap, getPrototypeOf: trap, has: trap });',
      'let getterRan = false;',
      'const sneaky = { get secret() { getterRan = true; return 1 }, toJSON() { return "from toJSON" } };',
      'console.log(hostile);',
      'console.log(sneaky, getterRan);',
      'console.log("%j", sneaky);',
      'console.log(Object.create(null, { [Symbol.toStringTag]: { get: trap } }));',
    ].join('\n');
    expect(await stdoutOf(code)).toBe(
      '[Uninspectable]\n{ secret: [Getter], toJSON: [Function: toJSON] } false\n"from toJSON"\n[Object: null prototype] {}\n',
    );
  });

  it('refuses non-string paths in readFile inside the guest, whatever they pretend to be', async () => {
    const code = [
      'const pretend = { toString() { return "data.txt" }, [Symbol.toPrimitive]() { return "data.txt" } };',
      'for (const path of [pretend, new Proxy({}, {}), ["data.txt"], 42, Symbol("p")]) {',
      '  try { airlock.readFile(path); console.log("read") } catch (e) { console.log(e.name) }',
      '}',
      'try { airlock.readFile("data.txt", { toString() { return "utf8" } }) } catch (e) { console.log(e.name) }',
      'console.log(airlock.readFile("data.txt", "utf8"));',
    ].join('\n');
    expect(await stdoutOf(code, { 'data.txt': 'ok' })).toBe(`${'TypeError\n'.repeat(6)}ok\n`);
  });

  it('sees only the job’s files: no host paths, no traversal', async () => {
    const code = [
      'for (const p of ["/etc/passwd", "../../etc/passwd", "/proc/self/environ", "data/../../x", "./data/a.txt"]) {',
      '  try { console.log(airlock.readFile(p, "utf8")) } catch (e) { console.log(e.code) }',
      '}',
    ].join('\n');
    expect(await stdoutOf(code, { 'data/a.txt': 'mine' })).toBe('ENOENT\nENOENT\nENOENT\nENOENT\nmine\n');
  });

  it('survives hostile values thrown or rejected at the host', async () => {
    const cases = [
      'throw new Proxy({}, { get() { throw new Error("trap") } });',
      'Promise.reject(Symbol("s"));',
      'throw { toString() { throw new Error("nope") } };',
      'const e = new Error("x"); Object.defineProperty(e, "stack", { get() { throw new Error("stack getter") } }); throw e;',
    ];
    for (const code of cases) {
      const { result } = await runJob(sandbox(), { code });
      expect(result.outcome, code).toBe('error');
      expect(result.exit_code).toBe(1);
      expect(result.stderr.length).toBeGreaterThan(0);
      expect(result.stderr).not.toMatch(/\/work\/|node_modules|isolated-vm boundary/);
    }
  });

  it('ends an error whose stack getter never returns at the deadline', async () => {
    const code =
      'const e = new Error("x"); Object.defineProperty(e, "stack", { get() { for (;;) {} } }); throw e;';
    const { result } = await runJob(sandbox(), { code, limits: { wall_time_ms: 500 } });
    expect(result.outcome).toBe('timeout');
    const next = await runJob(sandbox(), { code: 'console.log("fine")' });
    expect(next.result.outcome).toBe('success');
  });

  it('ends Atomics.wait on a value that never changes at the deadline', async () => {
    const code = 'Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);';
    const { result } = await runJob(sandbox(), { code, limits: { wall_time_ms: 500 } });
    expect(result.outcome).toBe('timeout');
  });
});
