// Python sessions over REST on both container backends (docker = runc, gvisor = runsc): state that lives across
// cells and only there, rich outputs (matplotlib PNG, pandas HTML, exceptions), the cell timeout, an interpreter
// that exits, and no session container left behind. Real dockerd, real runsc, real HTTP.

import { createHash } from 'node:crypto';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { BACKENDS, containersLabelled, useSessionService } from './support/containers.ts';
import { call } from './support/service.ts';

const service = useSessionService({}, 2);

async function open(backend: string, extra: Record<string, unknown> = {}): Promise<string> {
  const response = await call(service().url, 'POST', '/v1/sessions', {
    language: 'python',
    backend,
    ...extra,
  });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  expect(response.headers.get('location')).toBe(`/v1/sessions/${response.body.id}`);
  expect(response.body).toMatchObject({ status: 'ready', backend, language: 'python', cells: 0 });
  return response.body.id;
}

async function cell(id: string, code: string, extra: Record<string, unknown> = {}): Promise<any> {
  const response = await call(service().url, 'POST', `/v1/sessions/${id}/executions`, { code, ...extra });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  expect(response.body).toMatchObject({ status: 'finished', session_id: id });
  return response.body;
}

const close = (id: string) => call(service().url, 'DELETE', `/v1/sessions/${id}`);

describe.each(BACKENDS)('python sessions on %s', (backend) => {
  it('keeps variables and files across cells, and a new session starts empty', async () => {
    const first = await open(backend);
    const a = await cell(first, 'x = 41\nopen("note.txt", "w").write("kept")\nprint("set")');
    expect(a.result).toMatchObject({ outcome: 'success', stdout: 'set\n', value: null, exception: null });
    const b = await cell(first, 'x + 1');
    expect(b.result.value).toEqual({ 'text/plain': '42' });
    const c = await cell(first, 'open("note.txt").read() + open("input.txt").read()', {
      files: [{ path: 'input.txt', content: '+given' }],
    });
    expect(c.result.value).toEqual({ 'text/plain': "'kept+given'" });
    const read = await call(service().url, 'GET', `/v1/executions/${b.id}`);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({
      id: b.id,
      session_id: first,
      result: { value: { 'text/plain': '42' } },
    });

    const second = await open(backend);
    const d = await cell(second, 'import os\nprint(os.path.exists("note.txt"))\nx');
    expect(d.result.stdout).toBe('False\n');
    expect(d.result.outcome).toBe('error');
    expect(d.result.exception).toMatchObject({ name: 'NameError', message: "name 'x' is not defined" });
    const session = await call(service().url, 'GET', `/v1/sessions/${first}`);
    expect(session.body).toMatchObject({ id: first, status: 'ready', cells: 3 });
    for (const id of [first, second]) expect((await close(id)).status).toBe(200);
  }, 180_000);

  it('returns a matplotlib chart as a PNG and a DataFrame as HTML', async () => {
    const id = await open(backend);
    const limits = { wall_time_ms: 60_000 };
    const chart = await cell(id, 'import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.title("t")', {
      limits,
    });
    expect(chart.result.outcome).toBe('success');
    expect(chart.result.display).toHaveLength(1);
    const png = PNG.sync.read(Buffer.from(chart.result.display[0]['image/png'], 'base64'));
    expect(png.width).toBeGreaterThan(0);
    expect(png.height).toBeGreaterThan(0);
    const frame = await cell(id, 'import pandas as pd\npd.DataFrame({"a": [1, 2], "b": ["x", "y"]})', {
      limits,
    });
    expect(frame.result.outcome).toBe('success');
    expect(frame.result.value['text/html']).toContain('<table');
    expect(frame.result.value['text/plain']).toContain('a  b');
    expect((await close(id)).status).toBe(200);
  }, 180_000);

  it('reports an exception with name, message and traceback', async () => {
    const id = await open(backend);
    const failed = await cell(id, 'def f():\n    raise ValueError("bad value")\nf()');
    expect(failed.result.outcome).toBe('error');
    expect(failed.result.exception.name).toBe('ValueError');
    expect(failed.result.exception.message).toBe('bad value');
    expect(failed.result.exception.traceback).toContain('raise ValueError("bad value")');
    expect(failed.result.stderr).toContain('ValueError: bad value');
    expect((await cell(id, '1 + 1')).result.value).toEqual({ 'text/plain': '2' });
    expect((await close(id)).status).toBe(200);
  }, 120_000);

  it('interrupts a cell at its wall-time limit and keeps the session', async () => {
    const id = await open(backend);
    await cell(id, 'y = 7');
    const slow = await cell(id, 'import time\nwhile True:\n    time.sleep(0.05)', {
      limits: { wall_time_ms: 1500 },
    });
    expect(slow.result.outcome).toBe('timeout');
    expect(slow.result.reason).toBe(
      'wall time limit of 1500 ms exceeded; the cell was interrupted and the session kept',
    );
    expect((await cell(id, 'y')).result.value).toEqual({ 'text/plain': '7' });
    expect((await close(id)).status).toBe(200);
  }, 120_000);

  it('closes the session when the interpreter exits', async () => {
    const id = await open(backend);
    const exited = await cell(id, 'import os\nos._exit(3)');
    expect(exited.result.outcome).toBe('error');
    expect(exited.result.exit_code).toBe(3);
    const session = await call(service().url, 'GET', `/v1/sessions/${id}`);
    expect(session.body).toMatchObject({ status: 'closed', closed_reason: 'interpreter_exited', cells: 1 });
    expect(containersLabelled(`airlock.session=${id}`)).toEqual([]);
    const after = await call(service().url, 'POST', `/v1/sessions/${id}/executions`, { code: '1' });
    expect(after.status).toBe(409);
    expect(after.body.error.code).toBe('session_closed');
    expect(after.body.error.message).toBe(`session ${id} is closed (interpreter_exited)`);
  }, 120_000);

  it('hands the interpreter a cell larger than a pipe holds, whole', async () => {
    const id = await open(backend);
    const data = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919) % 251;
    const big = await cell(id, 'import hashlib\nhashlib.sha256(open("big.bin", "rb").read()).hexdigest()', {
      files: [{ path: 'big.bin', content: data.toString('base64'), encoding: 'base64' }],
    });
    const digest = createHash('sha256').update(data).digest('hex');
    expect(big.result.value).toEqual({ 'text/plain': `'${digest}'` });
    expect((await close(id)).status).toBe(200);
  }, 120_000);

  it('closes the session when a cell runs out of memory', async () => {
    const id = await open(backend, { limits: { memory_mb: 128 } });
    const bomb = await cell(id, 'blocks = []\nwhile True:\n    blocks.append(bytearray(16 << 20))', {
      limits: { wall_time_ms: 60_000 },
    });
    expect(bomb.result).toMatchObject({
      outcome: 'memory_limit',
      signal: 'SIGKILL',
      reason: 'memory limit of 128 MB exceeded',
    });
    const session = await call(service().url, 'GET', `/v1/sessions/${id}`);
    expect(session.body).toMatchObject({ status: 'closed', closed_reason: 'memory_limit', cells: 1 });
    expect(containersLabelled(`airlock.session=${id}`)).toEqual([]);
  }, 120_000);

  it('removes the container on DELETE', async () => {
    const id = await open(backend);
    expect(containersLabelled(`airlock.session=${id}`)).toHaveLength(1);
    const deleted = await close(id);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({ id, status: 'closed', closed_reason: 'deleted' });
    expect(containersLabelled(`airlock.session=${id}`)).toEqual([]);
    const again = await call(service().url, 'GET', `/v1/sessions/${id}`);
    expect(again.body).toMatchObject({ status: 'closed', closed_reason: 'deleted' });
  }, 120_000);
});
