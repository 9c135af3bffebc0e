// Errors that teach, over REST against the real embedded service on loopback: every issue at once with "did
// you mean", limits naming the ceiling they hit, JSON errors with line and column, the body limit stated, 405
// with Allow for a known route asked with the wrong method, unknown session ids echoed (404 either way), and
// the table's shutting_down body for a request that arrives while the server closes.

import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startService, type TestService } from './support/service.ts';
import { TEACHING_CASES, TEST_BODY_LIMIT_BYTES } from './support/teaching-errors.ts';

let svc: TestService;
beforeAll(async () => {
  svc = await startService({ AIRLOCK_BODY_LIMIT_BYTES: String(TEST_BODY_LIMIT_BYTES) });
}, 120_000);
afterAll(async () => {
  await svc?.close();
}, 120_000);

describe('refusals that say what to change', () => {
  it.each(TEACHING_CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    for (const path of ['/v1/executions', '/mcp']) {
      if (path === '/mcp' && c.error.code === 'invalid_request') continue; // not an MCP message
      const response = await call(svc.url, 'POST', path, c.body, { 'content-type': 'application/json' });
      expect(response.status, path).toBe(c.status);
      expect(response.body, path).toEqual({ error: c.error });
    }
  });

  it('calls a POST without any body missing', async () => {
    const response = await call(svc.url, 'POST', '/v1/executions');
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({
      code: 'invalid_request',
      message: 'the request body is missing: send a JSON object (Content-Type: application/json)',
    });
  });

  it('names bad query parameters under query', async () => {
    const response = await call(svc.url, 'POST', '/v1/executions?wiat=1', {
      language: 'javascript',
      code: '1',
    });
    expect(response.status).toBe(400);
    expect(response.body.error).toEqual({
      code: 'invalid_request',
      field: 'query.wiat',
      message: 'query.wiat: unknown field; did you mean "wait"?',
      errors: [{ field: 'query.wiat', message: 'query.wiat: unknown field; did you mean "wait"?' }],
    });
  });
});

describe('a wrong method on a known route', () => {
  it.each([
    ['PUT', '/v1/executions', 'GET, HEAD, POST'],
    ['POST', '/v1/executions/exe_123', 'DELETE, GET, HEAD'],
    ['PUT', '/v1/sessions/ses_123', 'DELETE, GET, HEAD, PATCH'],
    ['DELETE', '/v1/runtimes', 'GET, HEAD'],
  ])('%s %s is 405 with Allow: %s', async (method, path, allow) => {
    const response = await call(svc.url, method, path);
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe(allow);
    expect(response.body).toEqual({
      error: { code: 'method_not_allowed', message: `${path} does not accept ${method}; use ${allow}` },
    });
  });

  it('keeps 404 for a path no route serves', async () => {
    const response = await call(svc.url, 'GET', '/v1/nothing-here');
    expect(response.status).toBe(404);
    expect(response.body.error).toEqual({ code: 'not_found', message: 'no route GET /v1/nothing-here' });
  });
});

describe('unknown session ids', () => {
  it('echoes the id asked for, well-formed or not, with 404 either way', async () => {
    const wellFormed = 'ses_AAAAAAAAAAAAAAAAAAAAAA';
    for (const id of [wellFormed, 'not-a-session']) {
      const response = await call(svc.url, 'GET', `/v1/sessions/${id}`);
      expect(response.status).toBe(404);
      expect(response.body.error).toEqual({ code: 'not_found', message: `no session "${id}"` });
    }
  });
});

/** Sends raw HTTP/1.1 on one connection and collects everything that comes back until it closes. */
function rawConnection(url: string) {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port) });
  let received = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    received += chunk;
  });
  const ended = new Promise<string>((resolve) => socket.once('close', () => resolve(received)));
  socket.on('error', () => {});
  return { write: (text: string) => socket.write(text), received: () => received, ended };
}

function canConnect(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('shutdown', () => {
  it("answers a request that arrives while the server closes with the table's shutting_down", async () => {
    const service = await startService();
    const submitted = await call(service.url, 'POST', '/v1/executions', {
      language: 'javascript',
      code: 'await new Promise((r) => setTimeout(r, 3000)); console.log("done")',
    });
    // A connection kept busy by the execution's event stream while the server starts closing.
    const connection = rawConnection(service.url);
    connection.write(`GET /v1/executions/${submitted.body.id}/events HTTP/1.1\r\nHost: x\r\n\r\n`);
    while (!connection.received().includes('\r\n\r\n')) await new Promise((r) => setTimeout(r, 20));
    const closed = service.close();
    while (await canConnect(service.url)) await new Promise((r) => setTimeout(r, 20));
    connection.write('GET /v1/runtimes HTTP/1.1\r\nHost: x\r\n\r\n');
    const text = await connection.ended;
    await closed;
    const answers = text.split(/(?=HTTP\/1\.1 )/);
    const refusal = answers.find((a) => a.startsWith('HTTP/1.1 503'));
    expect(refusal, text).toBeDefined();
    expect(refusal!.toLowerCase()).toContain('connection: close');
    expect(JSON.parse(refusal!.slice(refusal!.indexOf('\r\n\r\n') + 4))).toEqual({
      error: { code: 'shutting_down', message: 'The server is shutting down and accepts no new work.' },
    });
  }, 120_000);
});
