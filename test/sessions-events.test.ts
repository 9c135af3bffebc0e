// Session cells as event streams: `GET /v1/executions/:id/events` streams a cell as it does a one-shot run —
// live while the cell runs (started with `?wait=0`), and replayed once it is done — for a JavaScript cell on the
// isolate (output as produced) and a python cell on gVisor (output with its result). Real isolate host
// processes, real runsc, real HTTP.

import { describe, expect, it } from 'vitest';
import { useSessionService } from './support/containers.ts';
import { call } from './support/service.ts';

const service = useSessionService({ AIRLOCK_BACKENDS: 'isolate,gvisor' }, 1);

async function open(language: string, backend: string): Promise<string> {
  const response = await call(service().url, 'POST', '/v1/sessions', { language, backend });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body.id;
}

/** The stream's events as [name, data] pairs, read to its end. */
async function events(id: string): Promise<Array<[string, any]>> {
  const response = await fetch(`${service().url}/v1/executions/${id}/events`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/event-stream');
  const text = await response.text();
  return [...text.matchAll(/^event: (\w+)\ndata: (.*)$/gm)].map((m) => [m[1] ?? '', JSON.parse(m[2] ?? '')]);
}

describe('session cell events', () => {
  it('streams a running JavaScript cell live, then replays it the same way', async () => {
    const session = await open('javascript', 'isolate');
    const started = await call(service().url, 'POST', `/v1/sessions/${session}/executions?wait=0`, {
      code: 'console.log("one"); await new Promise((r) => setTimeout(r, 500)); console.error("two"); return 7',
    });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    expect(started.body).toMatchObject({ status: 'running', session_id: session });
    const id = started.body.id;
    expect(started.headers.get('location')).toBe(`/v1/executions/${id}`);
    const live = await events(id);
    const replay = await events(id);
    for (const stream of [live, replay]) {
      expect(stream[0]).toEqual(['state', { status: 'running' }]);
      expect(stream).toContainEqual(['stdout', { data: 'one\n' }]);
      expect(stream).toContainEqual(['stderr', { data: 'two\n' }]);
      const [name, result] = stream.at(-1) ?? [];
      expect(name).toBe('result');
      expect(result).toMatchObject({ id, status: 'finished', session_id: session });
      expect(result.result).toMatchObject({ outcome: 'success', value: { 'text/plain': '7' } });
    }
    const read = await call(service().url, 'GET', `/v1/executions/${id}`);
    expect(read.body).toMatchObject({ id, status: 'finished' });
    expect((await call(service().url, 'DELETE', `/v1/sessions/${session}`)).status).toBe(200);
  });

  it('streams a python cell on gVisor: its output comes before its result', async () => {
    const session = await open('python', 'gvisor');
    const started = await call(service().url, 'POST', `/v1/sessions/${session}/executions?wait=0`, {
      code: 'import time, sys\nprint("hello")\ntime.sleep(0.5)\nprint("oops", file=sys.stderr)\n6 * 7',
    });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const id = started.body.id;
    const stream = await events(id);
    expect(stream.map(([name]) => name)).toEqual(['state', 'stdout', 'stderr', 'result']);
    expect(stream[1]).toEqual(['stdout', { data: 'hello\n' }]);
    expect(stream[2]).toEqual(['stderr', { data: 'oops\n' }]);
    expect(stream[3]?.[1].result).toMatchObject({ outcome: 'success', value: { 'text/plain': '42' } });
    // A cell started with a wait long enough answers 201 finished, as without one.
    const waited = await call(service().url, 'POST', `/v1/sessions/${session}/executions?wait=60`, {
      code: 'print("again")',
    });
    expect(waited.status).toBe(201);
    expect(waited.body.result.stdout).toBe('again\n');
    expect((await call(service().url, 'DELETE', `/v1/sessions/${session}`)).status).toBe(200);
  });
});
