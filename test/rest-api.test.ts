// The REST surface as a caller sees it: submit, wait, poll, cancel, stream, idempotency, runtimes, health,
// metrics and the OpenAPI document, against the real embedded service.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, finishedJavascript, run, startService, type TestService } from './support/service.ts';

let svc: TestService;
beforeAll(async () => {
  svc = await startService();
});
afterAll(async () => {
  await svc?.close();
});

describe('executions', () => {
  it('runs JavaScript and returns the finished execution with ?wait', async () => {
    const response = await call(svc.url, 'POST', '/v1/executions?wait=30', {
      language: 'javascript',
      code: 'console.log("hello", 6 * 7)',
    });
    expect(response.status).toBe(201);
    expect(response.headers.get('location')).toBe(`/v1/executions/${response.body.id}`);
    expect(response.body).toMatchObject(
      finishedJavascript({ outcome: 'success', exit_code: 0, stdout: 'hello 42\n', stderr: '' }),
    );
    expect(response.body.result.usage.wall_ms).toBeGreaterThanOrEqual(0);
  });

  it('runs TypeScript with stdin, args and env', async () => {
    const execution = await run(svc.url, {
      language: 'typescript',
      code: 'const n: number = airlock.args.length; console.log(n, airlock.stdin.trim(), airlock.env.GREETING);',
      stdin: 'from stdin\n',
      args: ['a', 'b'],
      env: { GREETING: 'hi' },
    });
    expect(execution.result).toMatchObject({ outcome: 'success', stdout: '2 from stdin hi\n' });
  });

  it('answers 201 at once without wait, then the execution can be polled', async () => {
    const response = await call(svc.url, 'POST', '/v1/executions', {
      language: 'javascript',
      code: 'console.log(1)',
    });
    expect(response.status).toBe(201);
    expect(['queued', 'running', 'finished']).toContain(response.body.status);
    let current = response.body;
    for (let i = 0; i < 200 && current.status !== 'finished'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      current = (await call(svc.url, 'GET', `/v1/executions/${response.body.id}`)).body;
    }
    expect(current.result.stdout).toBe('1\n');
  });

  it('answers 202 with the current state when the wait runs out', async () => {
    const response = await call(svc.url, 'POST', '/v1/executions?wait=0.2', {
      language: 'javascript',
      code: 'await new Promise((r) => setTimeout(r, 3000)); console.log("late")',
    });
    expect(response.status).toBe(202);
    expect(['queued', 'running']).toContain(response.body.status);
    const canceled = await call(svc.url, 'DELETE', `/v1/executions/${response.body.id}`);
    expect(canceled.status).toBe(200);
    expect(canceled.body.result.outcome).toBe('canceled');
  });

  it('reports an uncaught error as outcome error with exit code 1', async () => {
    const execution = await run(svc.url, { language: 'javascript', code: 'throw new TypeError("boom")' });
    expect(execution.result.outcome).toBe('error');
    expect(execution.result.exit_code).toBe(1);
    expect(execution.result.stderr).toContain('TypeError: boom');
  });

  it('cancels a running execution and stops its work', async () => {
    const submitted = await call(svc.url, 'POST', '/v1/executions', {
      language: 'javascript',
      code: 'for(;;){}',
    });
    await new Promise((r) => setTimeout(r, 300));
    const canceled = await call(svc.url, 'DELETE', `/v1/executions/${submitted.body.id}`);
    expect(canceled.status).toBe(200);
    expect(canceled.body).toMatchObject({ status: 'finished', result: { outcome: 'canceled' } });
    const again = await call(svc.url, 'DELETE', `/v1/executions/${submitted.body.id}`);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('execution_finished');
  });
});

describe('idempotency', () => {
  it('returns the same execution for the same key and body, 409 for a different body', async () => {
    const key = `key-${Date.now()}`;
    const body = { language: 'javascript', code: 'console.log("once")' };
    const first = await call(svc.url, 'POST', '/v1/executions?wait=10', body, { 'idempotency-key': key });
    const second = await call(svc.url, 'POST', '/v1/executions?wait=10', body, { 'idempotency-key': key });
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(second.body.id).toBe(first.body.id);
    const conflict = await call(
      svc.url,
      'POST',
      '/v1/executions',
      { ...body, code: 'console.log("twice")' },
      {
        'idempotency-key': key,
      },
    );
    expect(conflict.status).toBe(409);
    expect(conflict.body.error.code).toBe('idempotency_conflict');
  });
});

describe('events', () => {
  it('streams state changes, output chunks and the result; a late subscriber gets what it missed', async () => {
    const submitted = await call(svc.url, 'POST', '/v1/executions', {
      language: 'javascript',
      code: 'console.log("one"); await new Promise((r) => setTimeout(r, 200)); console.error("two");',
    });
    const read = async () => {
      const response = await fetch(`${svc.url}/v1/executions/${submitted.body.id}/events`);
      expect(response.headers.get('content-type')).toContain('text/event-stream');
      return response.text();
    };
    const live = await read();
    const late = await read();
    for (const text of [live, late]) {
      const names = [...text.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);
      expect(names[0]).toBe('state');
      expect(names).toContain('stdout');
      expect(names).toContain('stderr');
      expect(names.at(-1)).toBe('result');
      expect(text).toContain('"data":"one\\n"');
      expect(text).toContain('"status":"running"');
    }
  });

  it('answers 404 for an unknown execution', async () => {
    const response = await call(svc.url, 'GET', '/v1/executions/ex_AAAAAAAAAAAAAAAAAAAAAA/events');
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('execution_not_found');
  });
});

describe('service endpoints', () => {
  it('lists runtimes', async () => {
    const response = await call(svc.url, 'GET', '/v1/runtimes');
    expect(response.status).toBe(200);
    const languages = response.body.runtimes.map((r: any) => `${r.language}/${r.backend}`);
    expect(languages).toEqual(expect.arrayContaining(['javascript/isolate', 'typescript/isolate']));
  });

  it('answers health and readiness', async () => {
    expect((await call(svc.url, 'GET', '/healthz')).body).toEqual({ status: 'ok' });
    expect((await call(svc.url, 'GET', '/readyz')).body).toEqual({ status: 'ready' });
  });

  it('exposes Prometheus metrics with queue depth, running and outcomes', async () => {
    await run(svc.url, { language: 'javascript', code: '1' });
    const response = await fetch(`${svc.url}/metrics`);
    const text = await response.text();
    expect(text).toContain('airlock_queue_depth');
    expect(text).toContain('airlock_executions_running');
    expect(text).toMatch(
      /airlock_executions_total\{outcome="success",language="javascript",backend="isolate"\} \d+/,
    );
    expect(text).toContain('airlock_execution_duration_seconds_bucket');
  });

  it('serves an OpenAPI document generated from the schemas, and a docs page', async () => {
    const response = await call(svc.url, 'GET', '/openapi.json');
    expect(response.status).toBe(200);
    expect(response.body.openapi).toMatch(/^3\./);
    expect(Object.keys(response.body.paths)).toEqual(
      expect.arrayContaining([
        '/v1/executions',
        '/v1/executions/{id}',
        '/v1/executions/{id}/events',
        '/v1/runtimes',
      ]),
    );
    const post = response.body.paths['/v1/executions'].post;
    expect(JSON.stringify(post.requestBody)).toContain('javascript');
    const docs = await fetch(`${svc.url}/docs/`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('swagger');
  });

  it('answers an unknown route with a coded 404', async () => {
    const response = await call(svc.url, 'GET', '/v2/nothing');
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('not_found');
  });
});
