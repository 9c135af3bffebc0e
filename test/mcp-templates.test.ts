// Templates through MCP, over both transports, against a real service (isolate and runc) with an operator
// template built at start-up: the run_code and create_session descriptions list the templates this server has
// (name, languages, description), create_session takes `template` and its cells see the template's module and
// files, run_code runs a one-off program in it, and a template the server does not have is a coded tool error.
// The typed client's templates() reads the same list.

import { AirlockClient } from '@airlock/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTAINER_SERVICE_ENV } from './support/containers.ts';
import { callTool, MCP_TRANSPORTS, textOf, useMcpClient } from './support/mcp.ts';
import { startService, type TestService } from './support/service.ts';
import { builtTemplate, PYTHON_EXTRA_TEMPLATE, useTemplatesDir, writeTemplate } from './support/templates.ts';

const NAME = `mcpextra-${process.pid}`;
let svc: TestService;
const dir = useTemplatesDir([NAME]);

beforeAll(async () => {
  await writeTemplate(dir(), NAME, PYTHON_EXTRA_TEMPLATE.spec, PYTHON_EXTRA_TEMPLATE.files);
  svc = await startService({
    ...CONTAINER_SERVICE_ENV,
    AIRLOCK_BACKENDS: 'isolate,docker',
    AIRLOCK_POOL_SIZE: '0',
    AIRLOCK_TEMPLATES_DIR: dir(),
    AIRLOCK_TEMPLATES_BUILD: 'build',
  });
  // Built before the MCP servers start: the stdio one reads the catalog once, at start-up.
  expect(await builtTemplate(svc.url, NAME)).toMatchObject({ state: 'ready' });
}, 900_000);

afterAll(async () => {
  await svc?.close();
}, 120_000);

describe('the typed client', () => {
  it('lists the templates, narrowed by language', async () => {
    const client = new AirlockClient({ baseUrl: svc.url });
    const python = await client.templates({ language: 'python' });
    expect(python.find((t) => t.name === NAME)).toMatchObject({
      state: 'ready',
      languages: ['python'],
      builtin: false,
      description: 'python with a module and a data file',
    });
    expect(python.map((t) => t.name)).not.toContain('bash');
    expect((await client.templates()).map((t) => t.name)).toEqual(expect.arrayContaining(['bash', NAME]));
  });
});

describe.each(MCP_TRANSPORTS)('templates over MCP (%s)', (transport) => {
  const mcp = useMcpClient(transport, () => svc.url);

  it('lists the templates in the run_code and create_session descriptions', async () => {
    const { tools } = await mcp().client.listTools();
    const runCode = tools.find((t) => t.name === 'run_code')!;
    const createSession = tools.find((t) => t.name === 'create_session')!;
    for (const tool of [runCode, createSession]) {
      expect(tool.description).toContain(`${NAME} (python): python with a module and a data file`);
      expect(tool.description).toMatch(/Templates on this server \(pass its name as `template`\)/);
    }
    expect(runCode.description).toContain('bash (bash; the default)');
    // bash has no sessions, and node serves only isolate-run session languages: neither is offered there.
    expect(createSession.description).not.toContain('bash (bash');
    // JavaScript and TypeScript sessions run in the isolate, which has no templates.
    expect(createSession.description).not.toContain('node (');
    expect(createSession.inputSchema.properties).toMatchObject({
      template: { type: 'string', pattern: '^[a-z][a-z0-9-]{0,39}$' },
    });
  });

  it('opens a session from a template whose cells see its module and files', async () => {
    const created = await callTool(mcp().client, 'create_session', { language: 'python', template: NAME });
    expect(created.isError, textOf(created)).toBeUndefined();
    expect(textOf(created)).toContain(`python on docker from template ${NAME}.`);
    expect(created.structuredContent).toMatchObject({ status: 'ready', template: NAME, backend: 'docker' });
    const id = (created.structuredContent as { id: string }).id;
    const cell = await callTool(mcp().client, 'run_code', {
      session_id: id,
      code: 'import os, airlock_greet\nprint(airlock_greet.GREETING, open(os.environ["MOTTO_FILE"]).read().strip())',
    });
    expect(cell.isError, textOf(cell)).toBeUndefined();
    expect(cell.structuredContent).toMatchObject({
      template: NAME,
      session_id: id,
      result: { outcome: 'success', stdout: 'hi from the template\n' },
    });
    const closed = await callTool(mcp().client, 'close_session', { session_id: id });
    expect(closed.structuredContent).toMatchObject({ status: 'closed', template: NAME });
  }, 240_000);

  it('runs a one-off program in a template, and refuses one the server does not have', async () => {
    const run = await callTool(mcp().client, 'run_code', {
      language: 'python',
      template: NAME,
      code: 'import airlock_greet; print(airlock_greet.GREETING)',
    });
    expect(run.isError, textOf(run)).toBeUndefined();
    expect(run.structuredContent).toMatchObject({ template: NAME, result: { stdout: 'hi\n' } });

    const unknown = await callTool(mcp().client, 'create_session', {
      language: 'python',
      template: 'no-such',
    });
    expect(unknown.isError).toBe(true);
    expect(unknown._meta?.['airlock/error']).toMatchObject({ code: 'invalid_request', field: 'template' });
    expect(textOf(unknown)).toContain('no template named "no-such"');
  }, 240_000);
});
