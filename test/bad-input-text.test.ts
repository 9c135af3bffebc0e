// One rule for every free-text field (code, stdin, args, env values, metadata values): NUL and lone
// surrogates are refused, everything else (U+2028, control characters) is kept exactly as given. And a body
// that repeats a key in any object is refused with `invalid_json` naming the key and its path, on REST
// (executions, sessions, cells) and MCP over HTTP alike, before anything is queued or audited as accepted.

import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startService, type TestService } from './support/service.ts';

let svc: TestService;
beforeAll(async () => {
  svc = await startService();
});
afterAll(async () => {
  await svc?.close();
});

const ok = { language: 'javascript', code: 'console.log(1)' };

/** POSTs `body` to `path` of the file's service: a string as it is (raw JSON text), anything else as JSON. */
const post = (path: string, body: unknown) => call(svc.url, 'POST', path, body);

describe('free text: one rule for every field', () => {
  it.each([
    ['code', { ...ok, code: 'a\u0000b' }, 'code'],
    ['stdin', { ...ok, stdin: 'in\u0000put' }, 'stdin'],
    ['an argument', { ...ok, args: ['ok', 'a\u0000'] }, 'args[1]'],
    ['an env value', { ...ok, env: { A: 'x\u0000' } }, 'env.A'],
    ['a metadata value', { ...ok, metadata: { label: 'x\u0000y' } }, 'metadata.label'],
  ])('NUL in %s → 400 naming the field', async (_name, body, field) => {
    const response = await post('/v1/executions', body);
    expect(response.status).toBe(400);
    const message = `${field}: must not contain NUL characters`;
    expect(response.body.error).toEqual({
      code: 'invalid_request',
      message,
      field,
      errors: [{ field, message }],
    });
  });

  it.each([
    ['stdin', { ...ok, stdin: '\ud800' }, 'stdin'],
    ['an argument', { ...ok, args: ['\udc00'] }, 'args[0]'],
    ['an env value', { ...ok, env: { A: '\ud800x' } }, 'env.A'],
    ['a metadata value', { ...ok, metadata: { label: '\udfff' } }, 'metadata.label'],
  ])('a lone surrogate in %s → 400 naming the field', async (_name, body, field) => {
    const response = await post('/v1/executions', body);
    expect(response.status).toBe(400);
    const message = `${field}: must be well-formed text (no lone surrogate)`;
    expect(response.body.error).toEqual({
      code: 'invalid_request',
      message,
      field,
      errors: [{ field, message }],
    });
  });

  it('keeps U+2028, U+2029 and control characters exactly as given', async () => {
    const text = 'line\u2028sep\u2029para\u0007bell\u001b[31m\ttab';
    const response = await call(svc.url, 'POST', '/v1/executions?wait=20', {
      language: 'javascript',
      code: 'console.log(JSON.stringify([airlock.stdin, airlock.args[0], airlock.env.A]))',
      stdin: text,
      args: [text],
      env: { A: text },
      metadata: { label: text },
    });
    expect(response.status).toBe(201);
    expect(response.body.metadata).toEqual({ label: text });
    expect(JSON.parse(response.body.result.stdout)).toEqual([text, text, text]);
  });

  it('applies the same rule to session metadata and cells', async () => {
    const session = await call(svc.url, 'POST', '/v1/sessions', {
      language: 'javascript',
      metadata: { label: 'x\u0000' },
    });
    expect(session.status).toBe(400);
    expect(session.body.error.field).toBe('metadata.label');
    const opened = await post('/v1/sessions', { language: 'javascript' });
    expect(opened.status).toBe(201);
    const cell = await post(`/v1/sessions/${opened.body.id}/executions`, {
      code: '1',
      stdin: 'a\u0000',
    });
    expect(cell.status).toBe(400);
    expect(cell.body.error.field).toBe('stdin');
    await call(svc.url, 'DELETE', `/v1/sessions/${opened.body.id}`);
  });
});

describe('a JSON body that repeats a key', () => {
  it.each([
    [
      'at the top',
      '{"language":"javascript","code":"console.log(1)","code":"console.log(2)"}',
      'code',
      'code',
    ],
    [
      'inside an array element',
      '{"language":"javascript","code":"1","files":[{"path":"a.txt","content":"x","path":"b.txt"}]}',
      'path',
      'files[0].path',
    ],
    [
      'spelled with an escape',
      '{"language":"javascript","code":"1","metadata":{"a":"x","\\u0061":"y"}}',
      'a',
      'metadata.a',
    ],
    [
      'deep inside the network rules',
      '{"language":"javascript","code":"1","network":{"egress":"proxy","allow":[{"host":"a.test","ports":[80],"host":"b.test"}]}}',
      'host',
      'network.allow[0].host',
    ],
  ])('%s → 400 invalid_json naming the key and its path', async (_name, body, key, path) => {
    const before = (await readFile(svc.auditPath, 'utf8')).length;
    const response = await post('/v1/executions', body);
    expect(response.status).toBe(400);
    expect(response.body.error).toEqual({
      code: 'invalid_json',
      message: `duplicate key ${JSON.stringify(key)} at ${path}: a JSON object must not repeat a key`,
      field: path,
    });
    // Refused before the route: nothing was accepted.
    const added = (await readFile(svc.auditPath, 'utf8')).slice(before);
    expect(added).not.toContain('"type":"accepted"');
  });

  it('accepts the same key in different objects', async () => {
    const response = await post(
      '/v1/executions?wait=20',
      '{"language":"javascript","code":"console.log(airlock.readFile(\\"b.txt\\", \\"utf8\\"))","files":[{"path":"a.txt","content":"1"},{"path":"b.txt","content":"2"}]}',
    );
    expect(response.status).toBe(201);
    expect(response.body.result.stdout).toBe('2\n');
  });

  it('is refused on sessions and cells too', async () => {
    const session = await post('/v1/sessions', '{"language":"javascript","language":"python"}');
    expect(session.status).toBe(400);
    expect(session.body.error).toMatchObject({ code: 'invalid_json', field: 'language' });
    const opened = await post('/v1/sessions', { language: 'javascript' });
    const cell = await post(`/v1/sessions/${opened.body.id}/executions`, '{"code":"1","code":"2"}');
    expect(cell.status).toBe(400);
    expect(cell.body.error).toMatchObject({ code: 'invalid_json', field: 'code' });
    await call(svc.url, 'DELETE', `/v1/sessions/${opened.body.id}`);
  });

  it('is refused on MCP over HTTP (a JSON-RPC message that repeats a key)', async () => {
    const response = await call(
      svc.url,
      'POST',
      '/mcp',
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"run_code","arguments":{"language":"javascript","code":"1","code":"2"}}}',
      { accept: 'application/json, text/event-stream' },
    );
    expect(response.status).toBe(400);
    expect(response.body.error).toEqual({
      code: 'invalid_json',
      message: 'duplicate key "code" at params.arguments.code: a JSON object must not repeat a key',
      field: 'params.arguments.code',
    });
  });
});
