// The Airlock MCP server: the code-interpreter tools (run_code, create_session, close_session, list_runtimes)
// and list_executions, over any MCP transport. It talks to Airlock only through @airlock/client, so it runs the
// same beside a remote gateway (stdio, main.ts) and inside the gateway itself (routes/mcp.ts, with an in-process fetch).

import {
  AirlockClient,
  type AirlockClientOptions,
  type CreateSessionInput,
  type RunCodeInput,
  Runtime,
  Session,
  TOOL_DEFINITIONS,
} from '@airlock/client';
import { Execution } from '@airlock/protocol';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { LIST_EXECUTIONS, listExecutionsCall } from './list-executions.ts';
import { renderExecution } from './render.ts';
import { errorResult, isServerFault, toolError } from './tool-errors.ts';

export const SERVER_NAME = 'airlock';
export const SERVER_VERSION = '0.1.0';

const INSTRUCTIONS =
  'Airlock runs code in isolated sandboxes with no network. Use run_code for one-off programs; for ' +
  'step-by-step work where state should carry over (data analysis, plotting), create_session once, pass its ' +
  'session_id to run_code for each cell, and close_session at the end.';

const RuntimesOutput = z.object({ runtimes: z.array(Runtime) });

export interface AirlockMcpServerOptions {
  /** How to reach Airlock: base URL, the caller's bearer token, and optionally an in-process fetch. */
  airlock: AirlockClientOptions;
  /** Called with failures that are Airlock's or this server's fault (not the caller's), for the log. */
  onError?: (error: unknown) => void;
}

const READ_WRITE = { readOnlyHint: false, destructiveHint: false, openWorldHint: false } as const;

/** The registration of a tool of TOOL_DEFINITIONS: its description and input schema from there. */
function toolConfig<I extends z.ZodObject, O extends z.ZodType>(
  definition: { description: string; input: I },
  title: string,
  outputSchema: O,
  annotations: ToolAnnotations,
) {
  return {
    title,
    description: definition.description,
    inputSchema: definition.input,
    outputSchema,
    annotations,
  };
}

export function createAirlockMcpServer(options: AirlockMcpServerOptions): McpServer {
  const client = new AirlockClient(options.airlock);
  const server = new McpServer(
    { name: SERVER_NAME, version: SERVER_VERSION, title: 'Airlock code interpreter' },
    { instructions: INSTRUCTIONS },
  );
  const guarded = async (call: () => Promise<CallToolResult>): Promise<CallToolResult> => {
    try {
      return await call();
    } catch (error) {
      if (isServerFault(error)) options.onError?.(error);
      return errorResult(error);
    }
  };

  const runCode = TOOL_DEFINITIONS.run_code;
  server.registerTool(
    runCode.name,
    // a session cell carries its session_id
    toolConfig(runCode, 'Run code', Execution, { ...READ_WRITE, idempotentHint: false }),
    (args, extra) => guarded(() => runCodeCall(client, args, extra.signal)),
  );
  const createSession = TOOL_DEFINITIONS.create_session;
  server.registerTool(
    createSession.name,
    toolConfig(createSession, 'Create a session', Session, { ...READ_WRITE, idempotentHint: false }),
    (args, extra) => guarded(() => createSessionCall(client, args, extra.signal)),
  );
  const closeSession = TOOL_DEFINITIONS.close_session;
  server.registerTool(
    closeSession.name,
    toolConfig(closeSession, 'Close a session', Session, {
      ...READ_WRITE,
      destructiveHint: true,
      idempotentHint: true,
    }),
    ({ session_id }, extra) =>
      guarded(async () => {
        const session = await client.closeSession(session_id, { signal: extra.signal });
        const text = `Session ${session.id} closed; its interpreter and files are gone.`;
        return { content: [{ type: 'text', text }], structuredContent: session };
      }),
  );
  const listRuntimes = TOOL_DEFINITIONS.list_runtimes;
  server.registerTool(
    listRuntimes.name,
    toolConfig(listRuntimes, 'List runtimes', RuntimesOutput, { readOnlyHint: true, openWorldHint: false }),
    (_args, extra) =>
      guarded(async () => {
        const runtimes = await client.runtimes({ signal: extra.signal });
        const lines = runtimes.map(
          (r) =>
            `${r.language} on ${r.backend}: ${r.version}${r.available ? '' : ` (unavailable: ${r.reason ?? 'unknown'})`}`,
        );
        return { content: [{ type: 'text', text: lines.join('\n') }], structuredContent: { runtimes } };
      }),
  );
  server.registerTool(
    LIST_EXECUTIONS.name,
    toolConfig(LIST_EXECUTIONS, 'List executions', LIST_EXECUTIONS.output, {
      readOnlyHint: true,
      openWorldHint: false,
    }),
    (args, extra) => guarded(() => listExecutionsCall(client, args, extra.signal)),
  );
  return server;
}

async function runCodeCall(
  client: AirlockClient,
  args: RunCodeInput,
  signal: AbortSignal,
): Promise<CallToolResult> {
  const { language, code, files, stdin, session_id, limits } = args;
  const given = {
    ...(files === undefined ? {} : { files }),
    ...(stdin === undefined ? {} : { stdin }),
    ...(limits === undefined ? {} : { limits }),
  };
  if (session_id === undefined) {
    return renderExecution(await client.run({ language, code, ...given }, { signal }));
  }
  const session = await client.getSession(session_id, { signal });
  if (session.status === 'closed') {
    return toolError(
      'session_closed',
      `session ${session.id} is closed (${session.closed_reason ?? 'unknown reason'}); create a new one`,
    );
  }
  if (session.language !== language) {
    return toolError(
      'invalid_request',
      `session ${session.id} runs ${session.language}, not ${language}; use its language or another session`,
      { field: 'language' },
    );
  }
  return renderExecution(await client.runCell(session_id, { code, ...given }, { signal }));
}

async function createSessionCall(
  client: AirlockClient,
  args: CreateSessionInput,
  signal: AbortSignal,
): Promise<CallToolResult> {
  const { language, limits, idle_timeout_seconds, max_lifetime_seconds } = args;
  const session = await client.createSession(
    {
      language,
      ...(limits === undefined ? {} : { limits }),
      ...(idle_timeout_seconds === undefined ? {} : { idle_timeout_seconds }),
      ...(max_lifetime_seconds === undefined ? {} : { max_lifetime_seconds }),
    },
    { signal },
  );
  const text =
    `Session ${session.id} is ${session.status}: ${session.language} on ${session.backend}. ` +
    `Pass session_id "${session.id}" to run_code to run cells in it. ` +
    `It closes at ${session.expires_at} at the latest (later cells push the idle deadline); close it with ` +
    'close_session when done.';
  return { content: [{ type: 'text', text }], structuredContent: session };
}
