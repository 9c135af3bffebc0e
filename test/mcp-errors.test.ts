// The MCP tools as an LLM first meets them, over stdio and the gateway's /mcp against a real isolate-only
// service: schemas built from this server (limit maxima are its ceilings, backends and languages are what it
// runs), `backend` on run_code, `language` optional with a session, every refusal a tool error with the Airlock
// code, field and all issues (the server's own argument checks too), an unreachable Airlock named by URL, and
// the tool list linted by the MCP Inspector CLI (`--strict`) with no warning.

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  callTool,
  connectStdio,
  MCP_MAIN,
  MCP_TOOLS,
  MCP_TRANSPORTS,
  REPO_ROOT,
  textOf,
  useMcpClient,
} from './support/mcp.ts';
import { useService } from './support/service.ts';

const svc = useService();
const INSPECTOR = join(REPO_ROOT, 'node_modules', '.bin', 'mcp-inspector');
const run = promisify(execFile);

describe.each(MCP_TRANSPORTS)('MCP over %s', (transport) => {
  const mcp = useMcpClient(transport, () => svc().url);

  it("advertises this server's ceilings, backends and languages", async () => {
    const { tools } = await mcp().client.listTools();
    const runCode = tools.find((t) => t.name === 'run_code')!;
    expect(runCode.inputSchema.required).toEqual(['code']);
    expect(runCode.inputSchema.properties).toMatchObject({
      language: { enum: ['javascript', 'typescript'] },
      backend: { enum: ['auto', 'isolate'] },
      limits: {
        properties: {
          wall_time_ms: { maximum: 60_000 },
          cpu_time_ms: { maximum: 60_000 },
          memory_mb: { maximum: 1024 },
          output_bytes: { maximum: 16_777_216 },
        },
      },
    });
    expect(runCode.description).toContain('memory_mb 128 MB (at most 1024)');
    expect(runCode.description).toContain('no require, process, fs or fetch');
    const createSession = tools.find((t) => t.name === 'create_session')!;
    expect(createSession.inputSchema.properties).toMatchObject({
      language: { enum: ['javascript', 'typescript'] },
      backend: { enum: ['auto', 'isolate'] },
    });
  });

  it('refuses bad arguments as REST does: code, field, every issue', async () => {
    const result = await callTool(mcp().client, 'run_code', {
      lenguage: 'javascript',
      code: 'console.log(1)',
      limits: { memory_mb: 100_000 },
    });
    expect(result.isError).toBe(true);
    expect(result._meta?.['airlock/error']).toEqual({
      code: 'invalid_request',
      status: 400,
      field: 'lenguage',
      message: 'lenguage: unknown field; did you mean "language"?',
      errors: [
        { field: 'lenguage', message: 'lenguage: unknown field; did you mean "language"?' },
        {
          field: 'limits.memory_mb',
          message: 'limits.memory_mb: 100000 is above the server ceiling of 1024',
        },
      ],
    });
    expect(textOf(result)).toBe(
      'Airlock error invalid_request (field lenguage): lenguage: unknown field; did you mean "language"?\n' +
        '- limits.memory_mb: 100000 is above the server ceiling of 1024',
    );
    const noLanguage = await callTool(mcp().client, 'run_code', { code: '1' });
    expect(noLanguage._meta?.['airlock/error']).toMatchObject({ code: 'invalid_request', field: 'language' });
  });

  it('runs on the backend asked for, and a session cell without language', async () => {
    const one = await callTool(mcp().client, 'run_code', {
      language: 'javascript',
      backend: 'isolate',
      code: 'console.log(6 * 7)',
    });
    expect(one.structuredContent).toMatchObject({ backend: 'isolate', result: { stdout: '42\n' } });
    const session = await callTool(mcp().client, 'create_session', { language: 'javascript' });
    const id = (session.structuredContent as { id: string }).id;
    const cell = await callTool(mcp().client, 'run_code', { session_id: id, code: 'const x = 2; x * 21' });
    expect(cell.isError).toBeUndefined();
    expect(textOf(cell)).toContain('42');
    // Airlock's own refusal of a cell (memory is the session's) keeps its field and issues.
    const refused = await callTool(mcp().client, 'run_code', {
      session_id: id,
      code: '1',
      limits: { memory_mb: 64 },
    });
    expect(refused._meta?.['airlock/error']).toMatchObject({
      code: 'invalid_request',
      status: 400,
      field: 'limits.memory_mb',
      errors: [{ field: 'limits.memory_mb' }],
    });
    const unknown = await callTool(mcp().client, 'close_session', {
      session_id: 'ses_AAAAAAAAAAAAAAAAAAAAAA',
    });
    expect(unknown._meta?.['airlock/error']).toMatchObject({
      code: 'not_found',
      message: 'no session "ses_AAAAAAAAAAAAAAAAAAAAAA"',
    });
    await callTool(mcp().client, 'close_session', { session_id: id });
  });

  it('passes the MCP Inspector CLI strict lint of the tool list with no warning', async () => {
    const target =
      transport === 'stdio'
        ? ['-e', `AIRLOCK_URL=${svc().url}`, process.execPath, MCP_MAIN]
        : [`${svc().url}/mcp`];
    const { stdout, stderr } = await run(
      INSPECTOR,
      ['--cli', '--method', 'tools/list', '--strict', ...target],
      {
        cwd: REPO_ROOT,
        timeout: 120_000,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' },
      },
    );
    const listed = JSON.parse(stdout) as { tools: { name: string }[] };
    expect(listed.tools.map((t) => t.name).sort()).toEqual([...MCP_TOOLS].sort());
    // --strict prints each portability problem as "Warning: tool …" or "Error: tool …" on stderr.
    expect(stderr).not.toMatch(/^(Warning|Error)\b/m);
  }, 180_000);
});

describe('an Airlock that does not answer', () => {
  it('is named by its URL in the error result', async () => {
    await using mcp = await connectStdio('http://127.0.0.1:9');
    const result = await callTool(mcp.client, 'run_code', { language: 'javascript', code: '1' });
    expect(result._meta?.['airlock/error']).toMatchObject({ code: 'network_error', status: 0 });
    expect(textOf(result)).toMatch(
      /^Airlock error network_error: Airlock unreachable at http:\/\/127\.0\.0\.1:9: /,
    );
    expect(mcp.stderr()).toContain('Airlock unreachable at start-up');
  });
});
