// The MCP server over both transports (stdio child process and the gateway's /mcp) against a real service with
// the isolate and runc backends: tool listing with schemas, run_code in javascript and python, failures as
// error results, bad arguments and Airlock's refusals as coded error results after which the server still works.

import { COMPILED_LANGUAGES } from '@airlock/protocol';
import { describe, expect, it } from 'vitest';
import { readAuditRecords } from './support/audit.ts';
import { CONTAINER_SERVICE_ENV } from './support/containers.ts';
import { callTool, connectStdio, MCP_TOOLS, MCP_TRANSPORTS, textOf, useMcpClient } from './support/mcp.ts';
import { call, finishedJavascript, useService } from './support/service.ts';

const svc = useService({ ...CONTAINER_SERVICE_ENV, AIRLOCK_BACKENDS: 'isolate,docker' });

/** Sums with numpy and writes out/result.txt: in.txt upper-cased. */
const NUMPY_PROGRAM = [
  'import numpy as np',
  'print(int(np.arange(10).sum()))',
  'open("out/result.txt", "w").write(open("in.txt").read().upper())',
].join('\n');

describe.each(MCP_TRANSPORTS)('MCP over %s', (transport) => {
  const mcp = useMcpClient(transport, () => svc().url);
  /** Calls run_code with `code` in `language` and any other arguments in `extra`. */
  const runCode = (language: string, code: string, extra: Record<string, unknown> = {}) =>
    callTool(mcp().client, 'run_code', { language, code, ...extra });

  it('lists the eight tools with input and output schemas', async () => {
    const { tools } = await mcp().client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([...MCP_TOOLS].sort());
    const runCode = tools.find((t) => t.name === 'run_code')!;
    expect(runCode.description).toMatch(/no network/i);
    expect(runCode.description).toContain('/work/out');
    expect(runCode.inputSchema.required).toEqual(['code']);
    // The compiled languages are offered once their template is ready (GET /v1/runtimes says which are).
    const runtimes = (await call(svc().url, 'GET', '/v1/runtimes')).body.runtimes as Array<
      Record<string, any>
    >;
    const compiled = COMPILED_LANGUAGES.filter((l) => runtimes.some((r) => r.language === l && r.available));
    expect(runCode.inputSchema.properties).toMatchObject({
      language: { enum: ['javascript', 'typescript', 'python', 'bash', ...compiled] },
      code: { type: 'string' },
      files: { type: 'array' },
      stdin: { type: 'string' },
      session_id: { type: 'string' },
      limits: { type: 'object', properties: { memory_mb: { maximum: 1024 } } },
      backend: { enum: ['auto', 'isolate', 'docker'] },
    });
    expect(runCode.outputSchema?.properties).toHaveProperty('result');
    expect(runCode.outputSchema?.properties).toHaveProperty('session_id');
    const createSession = tools.find((t) => t.name === 'create_session')!;
    expect(createSession.inputSchema.properties).toMatchObject({
      language: { enum: ['python', 'javascript', 'typescript'] },
    });
    expect(createSession.outputSchema?.properties).toHaveProperty('expires_at');
  });

  it('runs javascript in the isolate: text, and the execution as structuredContent', async () => {
    const result = await runCode(
      'javascript',
      'console.log(airlock.stdin.trim().toUpperCase()); console.error("note")',
      { stdin: 'hello mcp\n' },
    );
    expect(result.isError).toBeUndefined();
    const text = textOf(result);
    expect(text).toMatch(/^outcome: success, exit code 0 \(javascript on isolate, \d+ ms; execution ex_/);
    expect(text).toContain('--- stdout ---\nHELLO MCP\n');
    expect(text).toContain('--- stderr ---\nnote\n');
    expect(result.structuredContent).toMatchObject(
      finishedJavascript({ outcome: 'success', exit_code: 0, stdout: 'HELLO MCP\n', stderr: 'note\n' }),
    );
  });

  it('runs python in a runc container and returns files written under out/', async () => {
    const files = [{ path: 'in.txt', content: 'done' }];
    const result = await runCode('python', NUMPY_PROGRAM, { files });
    const text = textOf(result);
    expect(result.isError, text).toBeUndefined();
    expect(text).toMatch(/^outcome: success, exit code 0 \(python on docker, \d+ ms; execution ex_/);
    expect(text).toContain('--- stdout ---\n45\n');
    expect(text).toContain('--- output files ---\nout/result.txt (4 bytes)\n');
    const id = (result.structuredContent as { id: string }).id;
    expect(result.content).toContainEqual({
      type: 'resource',
      resource: { uri: `airlock://executions/${id}/files/result.txt`, mimeType: 'text/plain', text: 'DONE' },
    });
    expect(result.structuredContent).toMatchObject({
      language: 'python',
      backend: 'docker',
      result: {
        outcome: 'success',
        stdout: '45\n',
        files: [{ path: 'result.txt', size: 4, encoding: 'base64', content: 'RE9ORQ==' }],
      },
    });
  }, 180_000);

  it('reports a failing program as an error result with its outcome and output', async () => {
    const result = await runCode('python', 'import sys\nprint("partial")\nsys.exit(3)');
    expect(result.isError).toBe(true);
    const text = textOf(result);
    expect(text).toMatch(/^outcome: error, exit code 3 \(python on docker/);
    expect(text).toContain('--- stdout ---\npartial\n');
    expect(result.structuredContent).toMatchObject({ result: { outcome: 'error', exit_code: 3 } });
  }, 180_000);

  it('reports an uncaught javascript error and a timeout as error results', async () => {
    const thrown = await runCode('javascript', 'throw new Error("boom")');
    expect(thrown.isError).toBe(true);
    expect(textOf(thrown)).toMatch(/^outcome: error, exit code 1 /);
    expect(textOf(thrown)).toContain('boom');

    const looped = await runCode('javascript', 'for (;;) {}', {
      limits: { wall_time_ms: 500, cpu_time_ms: 500 },
    });
    expect(looped.isError).toBe(true);
    expect(textOf(looped)).toMatch(/^outcome: timeout/);
    expect(textOf(looped)).toMatch(/\nreason: /);
    expect(looped.structuredContent).toMatchObject({ result: { outcome: 'timeout' } });
  });

  it('answers bad arguments with a coded error naming the field and keeps working', async () => {
    const bad = await runCode('cobol', 'DISPLAY "HI"');
    expect(bad.isError).toBe(true);
    expect(textOf(bad)).toMatch(
      /^Airlock error invalid_request \(field language\): language: expected one of/,
    );
    expect(bad._meta?.['airlock/error']).toMatchObject({ code: 'invalid_request', field: 'language' });

    const extra = await runCode('javascript', '1', { shell: true });
    expect(extra.isError).toBe(true);
    expect(textOf(extra)).toBe(
      'Airlock error invalid_request (field shell): shell: unknown field ' +
        '(accepted: language, code, files, stdin, session_id, backend, template, limits)',
    );

    const unknown = await callTool(mcp().client, 'rm_rf', {});
    expect(unknown.isError).toBe(true);
    expect(textOf(unknown)).toBe('Airlock error invalid_request (field name): no tool "rm_rf"');

    const after = await runCode('javascript', 'console.log(6 * 7)');
    expect(after.isError).toBeUndefined();
    expect(after.structuredContent).toMatchObject({ result: { stdout: '42\n' } });
  });

  it("passes Airlock's refusal on with its code and field", async () => {
    const result = await runCode('javascript', 'console.log(1)', { limits: { wall_time_ms: 3_600_000 } });
    expect(result).toEqual({
      content: [
        {
          type: 'text',
          text: 'Airlock error invalid_request (field limits.wall_time_ms): limits.wall_time_ms: 3600000 is above the server ceiling of 60000',
        },
      ],
      isError: true,
      _meta: {
        'airlock/error': {
          code: 'invalid_request',
          message: 'limits.wall_time_ms: 3600000 is above the server ceiling of 60000',
          status: 400,
          field: 'limits.wall_time_ms',
          errors: [
            {
              field: 'limits.wall_time_ms',
              message: 'limits.wall_time_ms: 3600000 is above the server ceiling of 60000',
            },
          ],
        },
      },
    });
  });

  it('lists runtimes', async () => {
    const result = await callTool(mcp().client, 'list_runtimes', {});
    expect(result.isError).toBeUndefined();
    const runtimes = (result.structuredContent as { runtimes: unknown[] }).runtimes;
    expect(runtimes).toContainEqual(
      expect.objectContaining({ language: 'javascript', backend: 'isolate', available: true }),
    );
    expect(runtimes).toContainEqual(
      expect.objectContaining({ language: 'python', backend: 'docker', available: true }),
    );
    expect(textOf(result)).toMatch(/^javascript on isolate: /m);
  });

  it('lists executions, filtered by metadata, as GET /v1/executions does', async () => {
    const ran = await runCode('javascript', 'console.log("listed")');
    const id = (ran.structuredContent as { id: string }).id;
    const result = await callTool(mcp().client, 'list_executions', { limit: 5, status: 'finished' });
    expect(result.isError).toBeUndefined();
    const page = result.structuredContent as { data: Array<{ id: string }>; next: string | null };
    expect(page.data.map((e) => e.id)).toContain(id);
    expect(textOf(result)).toContain(`${id} finished success javascript on isolate`);
    const none = await callTool(mcp().client, 'list_executions', { metadata: { nothing: 'here' } });
    expect(textOf(none)).toBe('No executions match.');
  });
});

describe('MCP cancellation (stdio)', () => {
  it('a tool call the host cancels cancels its execution', async () => {
    await using mcp = await connectStdio(svc().url);
    const controller = new AbortController();
    const call = mcp.client.callTool(
      {
        name: 'run_code',
        arguments: {
          language: 'javascript',
          code: 'console.log("long"); await new Promise((r) => setTimeout(r, 60_000))',
          limits: { wall_time_ms: 60_000 },
        },
      },
      undefined,
      { signal: controller.signal, timeout: 120_000 },
    );
    setTimeout(() => controller.abort('the user stopped it'), 1_000);
    await expect(call).rejects.toThrow('the user stopped it');
    let canceled: any;
    for (let i = 0; i < 100 && !canceled; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const records = await readAuditRecords(svc().auditPath);
      canceled = records.find((r) => r.type === 'canceled');
    }
    expect(canceled).toMatchObject({ type: 'canceled', tenant: 'local', detail: { status: 'finished' } });
    const execution = await svc().service.queue.get('local', canceled.execution_id);
    expect(execution).toMatchObject({ status: 'finished', result: { outcome: 'canceled' } });
  }, 60_000);
});

describe('POST /mcp with malformed messages', () => {
  const headers = { accept: 'application/json, text/event-stream' };

  it('answers bad JSON with the coded body, and a non-JSON-RPC body with a JSON-RPC error', async () => {
    const notJson = await call(svc().url, 'POST', '/mcp', '{"jsonrpc":', headers);
    expect(notJson.status).toBe(400);
    expect(notJson.body).toEqual({
      error: {
        code: 'invalid_json',
        message: 'the request body is not valid JSON: it ends too early (line 1 column 12)',
      },
    });

    const notRpc = await call(svc().url, 'POST', '/mcp', { hello: 'world' }, headers);
    expect(notRpc.status).toBe(400);
    expect(notRpc.body).toEqual({
      jsonrpc: '2.0',
      error: { code: -32700, message: 'Parse error: Invalid JSON-RPC message' },
      id: null,
    });

    const noAccept = await call(svc().url, 'POST', '/mcp', { jsonrpc: '2.0', id: 1, method: 'tools/list' });
    expect(noAccept.status).toBe(406);
    expect(noAccept.body.error.message).toBe(
      'Not Acceptable: Client must accept both application/json and text/event-stream',
    );

    // Stateless: a request needs no initialize before it, and the endpoint still answers after the bad ones.
    const direct = await call(
      svc().url,
      'POST',
      '/mcp',
      { jsonrpc: '2.0', id: 7, method: 'tools/list' },
      headers,
    );
    expect(direct.status).toBe(200);
    expect(direct.body.id).toBe(7);
    expect(direct.body.result.tools.map((t: { name: string }) => t.name)).toEqual([...MCP_TOOLS]);
  });
});
