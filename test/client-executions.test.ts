// @airlock/client against a real service on loopback: submit (with and without ?wait), get, wait and stream over
// Server-Sent Events, cancel, runtimes, idempotency, and every failure as an AirlockClientError with the
// gateway's code, status and field (or a client code when no coded answer arrived).

import { AirlockClient, type ExecutionStreamEvent } from '@airlock/client';
import { describe, expect, it } from 'vitest';
import { rejection, useServiceClient } from './support/client.ts';

const { service, client } = useServiceClient();

describe('executions', () => {
  it('submits with ?wait and gets the finished execution', async () => {
    const { execution, created } = await client().submit(
      { language: 'javascript', code: 'console.log(airlock.args.join("+"))', args: ['a', 'b'] },
      { wait: 20 },
    );
    expect(created).toBe(true);
    expect(execution).toMatchObject({
      status: 'finished',
      tenant: 'local',
      backend: 'isolate',
      result: { outcome: 'success', exit_code: 0, stdout: 'a+b\n', stderr: '' },
    });
    expect(await client().get(execution.id)).toEqual(execution);
  });

  it('submits without waiting, then waits for the result over the event stream', async () => {
    const { execution } = await client().submit({
      language: 'typescript',
      code: 'const n: number = 21; await new Promise((r) => setTimeout(r, 200)); console.log(n * 2)',
    });
    expect(['queued', 'running']).toContain(execution.status);
    expect(execution.result).toBeNull();
    const finished = await client().wait(execution.id);
    expect(finished).toMatchObject({ id: execution.id, status: 'finished', result: { stdout: '42\n' } });
  });

  it('streams state changes, output chunks in order, and the result last', async () => {
    const { execution } = await client().submit({
      language: 'javascript',
      code: 'for (let i = 0; i < 3; i++) { console.log("tick " + i); await new Promise((r) => setTimeout(r, 50)); } console.error("done")',
    });
    const events: ExecutionStreamEvent[] = [];
    for await (const event of client().stream(execution.id)) events.push(event);
    const last = events.at(-1);
    expect(last?.type).toBe('result');
    expect(events.filter((e) => e.type === 'result')).toHaveLength(1);
    const states = events.flatMap((e) => (e.type === 'state' ? [e.status] : []));
    expect(states).toEqual(['queued', 'running']);
    const stdout = events.flatMap((e) => (e.type === 'stdout' ? [e.data] : []));
    const stderr = events.flatMap((e) => (e.type === 'stderr' ? [e.data] : []));
    expect(stdout.join('')).toBe('tick 0\ntick 1\ntick 2\n');
    expect(stderr.join('')).toBe('done\n');
    if (last?.type !== 'result') throw new Error('no result');
    expect(last.execution.status).toBe('finished');
    expect(last.execution.result).toMatchObject({ outcome: 'success', stdout: 'tick 0\ntick 1\ntick 2\n' });
  });

  it('runs (submit + wait) and cancels a running execution', async () => {
    const { execution } = await client().submit({
      language: 'javascript',
      code: 'await new Promise((r) => setTimeout(r, 60_000))',
      limits: { wall_time_ms: 60_000 },
    });
    const canceled = await client().cancel(execution.id);
    expect(canceled).toMatchObject({ id: execution.id, status: 'finished', result: { outcome: 'canceled' } });
    const again = await rejection(client().cancel(execution.id));
    expect(again).toMatchObject({ status: 409, code: 'execution_finished' });

    const ran = await client().run({ language: 'javascript', code: 'console.log("ran")' });
    expect(ran).toMatchObject({ status: 'finished', result: { outcome: 'success', stdout: 'ran\n' } });
  });

  it('aborting run() cancels the execution it started', async () => {
    const controller = new AbortController();
    const started = client().run(
      {
        language: 'javascript',
        code: 'await new Promise((r) => setTimeout(r, 60_000))',
        limits: { wall_time_ms: 60_000 },
      },
      { signal: controller.signal },
    );
    setTimeout(() => controller.abort(), 300);
    const error = await rejection(started);
    expect(error).toMatchObject({ status: 0, code: 'aborted' });
    // The one execution of this test is canceled, not left running for a minute.
    for (let i = 0; i < 50; i++) {
      const stats = service().service.queue.stats();
      if (stats.running === 0 && stats.queued === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(service().service.queue.stats()).toMatchObject({ running: 0, queued: 0 });
  });

  it('replays an idempotent submission', async () => {
    const request = { language: 'javascript' as const, code: 'console.log("once")' };
    const first = await client().submit(request, { idempotencyKey: 'client-test-1', wait: 20 });
    const second = await client().submit(request, { idempotencyKey: 'client-test-1' });
    expect(first.created).toBe(true);
    expect(second.created).toBe(false);
    expect(second.execution.id).toBe(first.execution.id);
    const conflict = await rejection(
      client().submit({ ...request, code: 'console.log("twice")' }, { idempotencyKey: 'client-test-1' }),
    );
    expect(conflict).toMatchObject({ status: 409, code: 'idempotency_conflict' });
  });

  it('lists runtimes', async () => {
    const runtimes = await client().runtimes();
    expect(runtimes).toContainEqual(
      expect.objectContaining({ language: 'javascript', backend: 'isolate', available: true }),
    );
  });
});

describe('errors', () => {
  it('a refused request carries code, status, field and message', async () => {
    const error = await rejection(
      client().submit({ language: 'javascript', code: '1', limits: { wall_time_ms: 3_600_000 } }),
    );
    expect(error).toMatchObject({
      name: 'AirlockClientError',
      status: 400,
      code: 'invalid_request',
      field: 'limits.wall_time_ms',
      message: 'limits.wall_time_ms: 3600000 is above the server ceiling of 60000',
    });
    const bad = await rejection(client().submit({ language: 'cobol' as 'javascript', code: '1' }));
    expect(bad).toMatchObject({ status: 400, code: 'invalid_request', field: 'language' });
  });

  it('unknown executions are 404 execution_not_found for get, stream and cancel', async () => {
    const id = 'ex_AAAAAAAAAAAAAAAAAAAAAA';
    for (const attempt of [client().get(id), client().wait(id), client().cancel(id)]) {
      expect(await rejection(attempt)).toMatchObject({ status: 404, code: 'execution_not_found' });
    }
  });

  it('no server → network_error with status 0; a non-Airlock answer → unexpected_response', async () => {
    const nowhere = new AirlockClient({ baseUrl: 'http://127.0.0.1:9' });
    expect(await rejection(nowhere.runtimes())).toMatchObject({ status: 0, code: 'network_error' });

    const teapot = new AirlockClient({
      baseUrl: service().url,
      fetch: async () => new Response('<html>bad gateway</html>', { status: 502 }),
    });
    expect(await rejection(teapot.runtimes())).toMatchObject({
      status: 502,
      code: 'unexpected_response',
      message: 'GET /v1/runtimes: HTTP 502 without an Airlock error body',
    });

    const wrongShape = new AirlockClient({
      baseUrl: service().url,
      fetch: async () => Response.json({ runtimes: [{ language: 1 }] }),
    });
    expect(await rejection(wrongShape.runtimes())).toMatchObject({
      status: 200,
      code: 'unexpected_response',
    });
  });

  it('refuses a bad base URL or an empty token at construction', () => {
    expect(() => new AirlockClient({ baseUrl: 'ftp://example.test' })).toThrow(
      'AirlockClient: baseUrl must be an http(s) URL',
    );
    expect(() => new AirlockClient({ baseUrl: service().url, token: '' })).toThrow(
      'AirlockClient: token must not be empty',
    );
  });
});
