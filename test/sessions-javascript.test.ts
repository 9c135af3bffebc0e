// JavaScript and TypeScript sessions over REST on the isolate backend: state that lives across cells
// of one session and only there, TypeScript cells, last-expression values, exceptions the session survives,
// timeouts, a memory bomb that ends only its own session, exit, and the session host process gone after DELETE
// and idle expiry. Real isolate host processes, real HTTP, the default (isolate-only) service.

import type { IsolateSessionBackend } from '@airlock/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectRefused } from './support/refusals.ts';
import { call, run, startService, type TestService } from './support/service.ts';

let service: TestService;

beforeAll(async () => {
  service = await startService();
}, 60_000);

afterAll(async () => {
  await service?.close();
}, 60_000);

function isolateSessionBackend(): IsolateSessionBackend {
  const backend = service.service.sessions.backend('isolate');
  if (backend === undefined) throw new Error('the service has no isolate session backend');
  return backend as IsolateSessionBackend;
}

async function open(language = 'javascript', extra: Record<string, unknown> = {}): Promise<string> {
  const response = await call(service.url, 'POST', '/v1/sessions', { language, ...extra });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  expect(response.headers.get('location')).toBe(`/v1/sessions/${response.body.id}`);
  expect(response.body).toMatchObject({ status: 'ready', backend: 'isolate', language, cells: 0 });
  return response.body.id;
}

async function cell(id: string, code: string, extra: Record<string, unknown> = {}): Promise<any> {
  const response = await call(service.url, 'POST', `/v1/sessions/${id}/executions`, { code, ...extra });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  expect(response.body).toMatchObject({ status: 'finished', session_id: id, backend: 'isolate' });
  return response.body;
}

const value = (text: string) => ({ 'text/plain': text });
const getSession = async (id: string) => (await call(service.url, 'GET', `/v1/sessions/${id}`)).body;
const close = (id: string) => call(service.url, 'DELETE', `/v1/sessions/${id}`);

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

function hostPid(id: string): number {
  const pid = isolateSessionBackend().hostPid(id);
  if (pid === undefined) throw new Error(`session ${id} has no host process`);
  expect(processAlive(pid)).toBe(true);
  return pid;
}

describe('javascript sessions', () => {
  it('keeps declarations, globals and files across cells, and a new session starts empty', async () => {
    const first = await open();
    const a = await cell(
      first,
      "var x = 41;\nfunction inc(n) { return n + 1; }\nconst k = 'kept';\nglobalThis.g = 1;\nconsole.log('set');",
    );
    expect(a.result).toMatchObject({
      outcome: 'success',
      stdout: 'set\n',
      stderr: '',
      value: null,
      exception: null,
    });
    const b = await cell(first, 'inc(x)');
    expect(b.result).toMatchObject({ outcome: 'success', value: value('42'), exception: null });
    expect((await cell(first, 'k + g')).result.value).toEqual(value("'kept1'"));
    const files = [{ path: 'input.txt', content: 'given' }];
    expect((await cell(first, "airlock.readFile('input.txt', 'utf8')", { files })).result.value).toEqual(
      value("'given'"),
    );
    const later = await cell(first, "airlock.readFile('input.txt', 'utf8') + airlock.stdin", {
      stdin: '+in',
    });
    expect(later.result.value).toEqual(value("'given+in'"));
    const read = await call(service.url, 'GET', `/v1/executions/${b.id}`);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ id: b.id, session_id: first, result: { value: value('42') } });

    const second = await open();
    const fresh = await cell(second, '[typeof x, typeof inc, typeof k, typeof g].join()');
    expect(fresh.result.value).toEqual(value("'undefined,undefined,undefined,undefined'"));
    const missing = await cell(second, "airlock.readFile('input.txt', 'utf8')");
    expect(missing.result.outcome).toBe('error');
    expect(missing.result.exception).toMatchObject({
      name: 'Error',
      message: "ENOENT: no such file or directory, open 'input.txt'",
    });
    expect(await getSession(first)).toMatchObject({ id: first, status: 'ready', cells: 5 });
    for (const id of [first, second]) expect((await close(id)).status).toBe(200);
  }, 60_000);

  it('runs TypeScript cells type-stripped, keeping their declarations', async () => {
    const id = await open('typescript');
    const a = await cell(
      id,
      'interface Point { n: number }\nconst p: Point = { n: 2 };\nfunction square(v: number): number { return v * v; }',
    );
    expect(a.result).toMatchObject({ outcome: 'success', value: null, exception: null });
    expect((await cell(id, 'square(p.n) + 1 as number')).result.value).toEqual(value('5'));
    const bad = await cell(id, 'enum Color { Red }');
    expect(bad.result.outcome).toBe('error');
    expect(bad.result.exception.name).toBe('SyntaxError');
    expect(bad.result.exception.message).toContain('TypeScript error in cell-3.ts');
    expect((await cell(id, 'p')).result.value).toEqual(value('{ n: 2 }'));
    expect((await close(id)).status).toBe(200);
  }, 60_000);

  it('returns the last expression as text/plain, waits for timers and supports top-level await', async () => {
    const id = await open();
    expect((await cell(id, "({ a: 1, b: [1, 'two'], c: { d: null } })")).result.value).toEqual(
      value("{ a: 1, b: [ 1, 'two' ], c: { d: null } }"),
    );
    expect((await cell(id, 'undefined')).result.value).toBeNull();
    expect((await cell(id, 'null')).result.value).toEqual(value('null'));
    const timed = await cell(id, "setTimeout(() => console.log('later'), 30);\n'now'");
    expect(timed.result).toMatchObject({ outcome: 'success', stdout: 'later\n', value: value("'now'") });
    const awaited = await cell(
      id,
      'const got = await new Promise((resolve) => setTimeout(() => resolve(21), 20));\nglobalThis.w = got;\nreturn got * 2;',
    );
    expect(awaited.result).toMatchObject({ outcome: 'success', value: value('42'), exception: null });
    expect((await cell(id, '[typeof got, w]')).result.value).toEqual(value("[ 'undefined', 21 ]"));
    expect((await close(id)).status).toBe(200);
  }, 60_000);

  it('reports an uncaught exception with name, message and traceback, and the session survives', async () => {
    const id = await open();
    const failed = await cell(id, "function f() {\n  throw new TypeError('bad value');\n}\nf();");
    expect(failed.result.outcome).toBe('error');
    expect(failed.result.exit_code).toBe(1);
    expect(failed.result.value).toBeNull();
    expect(failed.result.exception).toMatchObject({ name: 'TypeError', message: 'bad value' });
    expect(failed.result.exception.traceback).toMatch(/^TypeError: bad value\n\s+at f \(cell-1\.js:2:9\)/);
    expect(failed.result.stderr).toContain('TypeError: bad value');
    const inTimer = await cell(id, "setTimeout(() => { throw new RangeError('in a timer'); }, 5);");
    expect(inTimer.result.outcome).toBe('error');
    expect(inTimer.result.exception).toMatchObject({ name: 'RangeError', message: 'in a timer' });
    const syntax = await cell(id, 'let = ;');
    expect(syntax.result.outcome).toBe('error');
    expect(syntax.result.exception.name).toBe('SyntaxError');
    expect((await cell(id, 'typeof f')).result.value).toEqual(value("'function'"));
    expect(await getSession(id)).toMatchObject({ status: 'ready', cells: 4 });
    expect((await close(id)).status).toBe(200);
  }, 60_000);

  it('drops pending timers at the time limit but closes the session when running code must be stopped', async () => {
    const id = await open();
    const pid = hostPid(id);
    await cell(id, 'var y = 7;');
    const idle = await cell(id, 'setTimeout(() => {}, 60_000);', { limits: { wall_time_ms: 500 } });
    expect(idle.result).toMatchObject({
      outcome: 'timeout',
      reason: 'wall time limit of 500 ms exceeded; pending timers were dropped and the session kept',
    });
    expect((await cell(id, 'y')).result.value).toEqual(value('7'));
    const busy = await cell(id, 'for (;;) {}', { limits: { wall_time_ms: 1000 } });
    expect(busy.result).toMatchObject({
      outcome: 'timeout',
      value: null,
      reason:
        'wall time limit of 1000 ms exceeded; a running isolate cannot be interrupted, so it was disposed and the session closed',
    });
    expect(await getSession(id)).toMatchObject({ status: 'closed', closed_reason: 'cell_timeout', cells: 4 });
    expect(processAlive(pid)).toBe(false);
    const after = await call(service.url, 'POST', `/v1/sessions/${id}/executions`, { code: 'y' });
    expect(after.status).toBe(409);
    expect(after.body.error).toMatchObject({
      code: 'session_closed',
      message: `session ${id} is closed (cell_timeout)`,
    });
  }, 60_000);

  it('ends only its own session on a memory bomb; other sessions and one-shot jobs go on', async () => {
    const bystander = await open();
    await cell(bystander, 'var kept = "still here";');
    const id = await open('javascript', { limits: { memory_mb: 64 } });
    const pid = hostPid(id);
    const bomb = await cell(
      id,
      'const hoard = [];\nfor (;;) hoard.push(new Array(1e5).fill(Math.random()));',
      {
        limits: { wall_time_ms: 30_000 },
      },
    );
    expect(bomb.result.outcome).toBe('memory_limit');
    expect(bomb.result.reason).toMatch(/^memory limit of 64 MB exceeded/);
    expect(await getSession(id)).toMatchObject({ status: 'closed', closed_reason: 'memory_limit' });
    expect(processAlive(pid)).toBe(false);
    expect((await cell(bystander, 'kept')).result.value).toEqual(value("'still here'"));
    const oneShot = await run(service.url, { language: 'javascript', code: 'console.log(6 * 7)' });
    expect(oneShot.result).toMatchObject({ outcome: 'success', stdout: '42\n' });
    const next = await open();
    expect((await cell(next, '1 + 1')).result.value).toEqual(value('2'));
    for (const s of [bystander, next]) expect((await close(s)).status).toBe(200);
  }, 90_000);

  it('keeps two sessions apart: globals and prototypes of one are not visible in the other', async () => {
    const a = await open();
    const b = await open();
    expect(hostPid(a)).not.toBe(hostPid(b));
    await cell(a, "globalThis.secret = 'a-only';\nObject.prototype.polluted = true;");
    const seen = await cell(b, '[typeof secret, ({}).polluted]');
    expect(seen.result.value).toEqual(value("[ 'undefined', undefined ]"));
    expect((await cell(a, '[secret, ({}).polluted]')).result.value).toEqual(value("[ 'a-only', true ]"));
    for (const id of [a, b]) expect((await close(id)).status).toBe(200);
  }, 60_000);

  it('ends the session host process on DELETE and on idle expiry', async () => {
    const deleted = await open();
    const deletedPid = hostPid(deleted);
    const answer = await close(deleted);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ id: deleted, status: 'closed', closed_reason: 'deleted' });
    expect(processAlive(deletedPid)).toBe(false);
    expect(isolateSessionBackend().hostPid(deleted)).toBeUndefined();

    const idle = await open('typescript', { idle_timeout_seconds: 1 });
    const idlePid = hostPid(idle);
    let session = await getSession(idle);
    for (let i = 0; i < 100 && session.status !== 'closed'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      session = await getSession(idle);
    }
    expect(session).toMatchObject({ status: 'closed', closed_reason: 'idle_timeout' });
    for (let i = 0; i < 50 && processAlive(idlePid); i++) await new Promise((r) => setTimeout(r, 100));
    expect(processAlive(idlePid)).toBe(false);
  }, 60_000);

  it('closes the session when the guest calls airlock.exit()', async () => {
    const id = await open();
    const exited = await cell(id, "console.log('bye');\nairlock.exit(3);");
    expect(exited.result).toMatchObject({ outcome: 'error', exit_code: 3, stdout: 'bye\n' });
    expect(await getSession(id)).toMatchObject({ status: 'closed', closed_reason: 'interpreter_exited' });
  }, 60_000);

  it('caps output per cell and keeps the session', async () => {
    const id = await open();
    const loud = await cell(id, "for (let i = 0; i < 100; i++) console.log('x'.repeat(99));\n'done'", {
      limits: { output_bytes: 1000 },
    });
    expect(loud.result).toMatchObject({
      outcome: 'output_limit',
      truncated: { stdout: true, stderr: false },
      reason: 'output exceeded the limit of 1000 bytes',
    });
    expect(loud.result.stdout).toBe(`${'x'.repeat(99)}\n`.repeat(10));
    const quiet = await cell(id, "console.log('ok'); 1");
    expect(quiet.result).toMatchObject({ outcome: 'success', stdout: 'ok\n', value: value('1') });
    expect((await close(id)).status).toBe(200);
  }, 60_000);

  it('counts a cell value with its stdout and stderr against output_bytes', async () => {
    const id = await open();
    const full = await cell(id, "console.log('a'.repeat(99));\n'b'.repeat(5000)", {
      limits: { output_bytes: 100 },
    });
    expect(full.result).toMatchObject({
      outcome: 'success',
      stdout: `${'a'.repeat(99)}\n`,
      truncated: { stdout: true, stderr: false },
      value: null,
    });
    const cut = await cell(id, "console.error('e'.repeat(9));\n'b'.repeat(5000)", {
      limits: { output_bytes: 1000 },
    });
    const text: string = cut.result.value['text/plain'];
    expect(cut.result).toMatchObject({ outcome: 'success', stderr: `${'e'.repeat(9)}\n` });
    expect(cut.result.truncated).toEqual({ stdout: true, stderr: false });
    expect(text).toBe(`'${'b'.repeat(986)}…`);
    expect(Buffer.byteLength(text) + 10).toBeLessThanOrEqual(1000);
    const fits = await cell(id, "'b'.repeat(10)", { limits: { output_bytes: 1000 } });
    expect(fits.result).toMatchObject({ truncated: { stdout: false }, value: value(`'${'b'.repeat(10)}'`) });
    expect((await close(id)).status).toBe(200);
  }, 60_000);

  it('answers bad input with coded errors', async () => {
    for (const [language, backend] of [
      ['python', 'isolate'],
      ['javascript', 'docker'],
    ]) {
      const refused = await call(service.url, 'POST', '/v1/sessions', { language, backend });
      expectRefused(refused, 422, { code: 'backend_unavailable', field: 'backend' });
    }
    const id = await open();
    const cases: [unknown, string][] = [
      [{ code: 'x', limits: { memory_mb: 64 } }, 'limits.memory_mb'],
      [{ code: 1 }, 'code'],
      [{ code: 'a\u0000b' }, 'code'],
      [{ code: '1', files: [{ path: '../up.txt', content: 'x' }] }, 'files[0].path'],
    ];
    for (const [body, field] of cases) {
      const response = await call(service.url, 'POST', `/v1/sessions/${id}/executions`, body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.error.code).toBe('invalid_request');
      expect(response.body.error.field ?? '', JSON.stringify(body)).toBe(field);
    }
    const slow = call(service.url, 'POST', `/v1/sessions/${id}/executions`, {
      code: 'await new Promise((resolve) => setTimeout(resolve, 1500));',
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const busy = await call(service.url, 'POST', `/v1/sessions/${id}/executions`, { code: '1' });
    expect(busy.status).toBe(409);
    expect(busy.body.error.code).toBe('session_busy');
    expect((await slow).body.result.outcome).toBe('success');
    expect((await cell(id, '"still usable"')).result.value).toEqual(value("'still usable'"));
    expect((await close(id)).status).toBe(200);
  }, 60_000);
});
