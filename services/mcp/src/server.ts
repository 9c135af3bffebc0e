// The Airlock MCP server: the code-interpreter tools (run_code, create_session, close_session, snapshot_session,
// pause_session, resume_session, update_session, upload_file, download_file, list_runtimes, list_executions)
// over any MCP transport. Its tools are built from a catalog of the Airlock server it talks to (languages,
// backends, limit defaults and ceilings), so their schemas advertise exactly what that server accepts. It
// validates arguments itself, so a refusal is a tool error with the Airlock code and field, like every other.
// It talks to Airlock only through @airlock/client, so it runs the same beside a remote gateway (stdio,
// main.ts) and inside the gateway itself (routes/mcp.ts, with an in-process fetch).

import {
  AirlockClient,
  type AirlockClientOptions,
  DOWNLOAD_MAX_BYTES,
  Runtime,
  Session,
  StoredSessionFile,
  type ToolCatalog,
  toolDefinitions,
} from '@airlock/client';
import { type Backend, Execution, type SessionLanguage, Snapshot } from '@airlock/protocol';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  type CallToolResult,
  ListToolsRequestSchema,
  type Tool,
  type ToolAnnotations,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { LIST_EXECUTIONS, listExecutionsCall } from './list-executions.ts';
import { portableJsonSchema } from './portable-schema.ts';
import { renderExecution } from './render.ts';
import { argumentsError, errorResult, isServerFault, toolError } from './tool-errors.ts';

export const SERVER_NAME = 'airlock';
export const SERVER_VERSION = '0.1.0';

const INSTRUCTIONS =
  'Airlock runs code in isolated sandboxes with no network. Use run_code for one-off programs; for ' +
  'step-by-step work where state should carry over (data analysis, plotting), create_session once, pass its ' +
  'session_id to run_code for each cell, and close_session at the end.';

const RuntimesOutput = z.object({ runtimes: z.array(Runtime) });
const DownloadedFile = z.object({
  path: z.string(),
  size: z.number().int(),
  encoding: z.enum(['utf8', 'base64']),
  content: z.string(),
});

export interface AirlockMcpServerOptions {
  /** How to reach Airlock: base URL, the caller's bearer token, and optionally an in-process fetch. */
  airlock: AirlockClientOptions;
  /** What the Airlock server offers (GET /v1/runtimes); without it, the protocol's own bounds. */
  catalog?: ToolCatalog | undefined;
  /** Called with failures that are Airlock's or this server's fault (not the caller's), for the log. */
  onError?: (error: unknown) => void;
}

const READ_WRITE = { readOnlyHint: false, destructiveHint: false, openWorldHint: false } as const;

type Tools = ReturnType<typeof toolDefinitions>;
type Handler = (args: unknown, signal: AbortSignal) => Promise<CallToolResult>;

interface Registered {
  listing: Tool;
  input: z.ZodObject;
  handler: Handler;
}

function jsonSchema(schema: z.ZodType, io: 'input' | 'output') {
  return portableJsonSchema(z.toJSONSchema(schema, { io })) as Tool['inputSchema'];
}

function register<I extends z.ZodObject>(
  definition: { name: string; description: string; input: I },
  title: string,
  output: z.ZodType,
  annotations: ToolAnnotations,
  handler: (args: z.output<I>, signal: AbortSignal) => Promise<CallToolResult>,
): Registered {
  return {
    listing: {
      name: definition.name,
      title,
      description: definition.description,
      inputSchema: jsonSchema(definition.input, 'input'),
      outputSchema: jsonSchema(output, 'output'),
      annotations: { title, ...annotations },
    },
    input: definition.input,
    handler: (args, signal) => handler(args as z.output<I>, signal),
  };
}

export function createAirlockMcpServer(options: AirlockMcpServerOptions): Server {
  const client = new AirlockClient(options.airlock);
  const tools = toolDefinitions(options.catalog);
  const registered = new Map(registrations(client, tools).map((tool) => [tool.listing.name, tool] as const));
  const server = new Server(
    { name: SERVER_NAME, version: SERVER_VERSION, title: 'Airlock code interpreter' },
    { capabilities: { tools: { listChanged: false } }, instructions: INSTRUCTIONS },
  );
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: [...registered.values()].map((tool) => tool.listing),
  }));
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const tool = registered.get(request.params.name);
    if (!tool) {
      return toolError('invalid_request', `no tool ${JSON.stringify(request.params.name.slice(0, 64))}`, {
        field: 'name',
      });
    }
    const parsed = tool.input.safeParse(request.params.arguments ?? {});
    if (!parsed.success) return argumentsError(parsed.error, tool.input);
    try {
      return await tool.handler(parsed.data, extra.signal);
    } catch (error) {
      if (isServerFault(error)) options.onError?.(error);
      return errorResult(error, options.airlock.baseUrl);
    }
  });
  return server;
}

function registrations(client: AirlockClient, tools: Tools): Registered[] {
  return [
    register(
      tools.run_code,
      'Run code',
      Execution,
      { ...READ_WRITE, idempotentHint: false },
      (args, signal) => runCodeCall(client, args, signal),
    ),
    register(
      tools.create_session,
      'Create a session',
      Session,
      { ...READ_WRITE, idempotentHint: false },
      (args, signal) => createSessionCall(client, args, signal),
    ),
    register(
      tools.close_session,
      'Close a session',
      Session,
      { ...READ_WRITE, destructiveHint: true, idempotentHint: true },
      async ({ session_id }, signal) => {
        const session = await client.closeSession(session_id, { signal });
        return answered(session, `Session ${session.id} closed; its interpreter and files are gone.`);
      },
    ),
    register(
      tools.snapshot_session,
      'Snapshot a session',
      Snapshot,
      { ...READ_WRITE, idempotentHint: false },
      async ({ session_id }, signal) => {
        const snapshot = await client.snapshotSession(session_id, { signal });
        const text =
          `Snapshot ${snapshot.id} of session ${session_id} saved (${snapshot.size_bytes} bytes); the session ` +
          `goes on. Pass from_snapshot "${snapshot.id}" to create_session to start a session from it.`;
        return answered(snapshot, text);
      },
    ),
    ...(
      [
        [
          tools.pause_session,
          'Pause a session',
          (id: string, signal: AbortSignal) => client.pauseSession(id, { signal }),
          (session: Session) =>
            `Session ${session.id} is ${session.status}: its memory and files are saved and its sandbox is ` +
            `freed. The next run_code with session_id "${session.id}" (or resume_session) restores it.`,
        ],
        [
          tools.resume_session,
          'Resume a session',
          (id: string, signal: AbortSignal) => client.resumeSession(id, { signal }),
          (session: Session) =>
            `Session ${session.id} is ${session.status}; its variables and files are as they were.`,
        ],
      ] as const
    ).map(([tool, title, act, say]) =>
      register(
        tool,
        title,
        Session,
        { ...READ_WRITE, idempotentHint: true },
        async ({ session_id }, signal) => {
          const session = await act(session_id, signal);
          return answered(session, say(session));
        },
      ),
    ),
    register(
      tools.update_session,
      'Change a session’s timeouts',
      Session,
      { ...READ_WRITE, idempotentHint: true },
      async ({ session_id, idle_timeout_seconds, max_lifetime_seconds }, signal) => {
        const update = {
          ...(idle_timeout_seconds === undefined ? {} : { idle_timeout_seconds }),
          ...(max_lifetime_seconds === undefined ? {} : { max_lifetime_seconds }),
        };
        const session = await client.updateSession(session_id, update, { signal });
        return answered(session, `Session ${session.id} now expires at ${session.expires_at} unless used.`);
      },
    ),
    register(
      tools.upload_file,
      'Upload a file to a session',
      StoredSessionFile,
      { ...READ_WRITE, idempotentHint: true },
      async ({ session_id, path, content, encoding }, signal) => {
        const bytes = Buffer.from(content, encoding);
        if (bytes.length > DOWNLOAD_MAX_BYTES) {
          return toolError(
            'payload_too_large',
            `a file sent by upload_file is at most ${DOWNLOAD_MAX_BYTES} bytes`,
            {
              status: 413,
              field: 'content',
            },
          );
        }
        const stored = await client.uploadFile(session_id, path, bytes, { signal });
        const text = `Wrote ${stored.path} (${stored.size} bytes, sha256 ${stored.sha256}) into session ${session_id}.`;
        return { content: [{ type: 'text', text }], structuredContent: stored };
      },
    ),
    register(
      tools.download_file,
      'Download a file from a session',
      DownloadedFile,
      { readOnlyHint: true, openWorldHint: false },
      async ({ session_id, path, encoding }, signal) => {
        const bytes = Buffer.from(await client.downloadFile(session_id, path, { signal }));
        if (bytes.length > DOWNLOAD_MAX_BYTES) {
          return toolError('payload_too_large', `download_file returns at most ${DOWNLOAD_MAX_BYTES} bytes`, {
            status: 413,
          });
        }
        const file = { path, size: bytes.length, encoding, content: bytes.toString(encoding) };
        return { content: [{ type: 'text', text: file.content }], structuredContent: file };
      },
    ),
    register(
      tools.list_runtimes,
      'List runtimes',
      RuntimesOutput,
      { readOnlyHint: true, openWorldHint: false },
      async (_args, signal) => {
        const runtimes = await client.runtimes({ signal });
        const lines = runtimes.map(
          (r) =>
            `${r.language} on ${r.backend}: ${r.version}${r.available ? '' : ` (unavailable: ${r.reason ?? 'unknown'})`}`,
        );
        return { content: [{ type: 'text', text: lines.join('\n') }], structuredContent: { runtimes } };
      },
    ),
    register(
      LIST_EXECUTIONS,
      'List executions',
      LIST_EXECUTIONS.output,
      { readOnlyHint: true, openWorldHint: false },
      (args, signal) => listExecutionsCall(client, args, signal),
    ),
  ];
}

/** A tool result: its text for the model and the same thing as structured content. */
function answered(structuredContent: object, text: string): CallToolResult {
  return { content: [{ type: 'text', text }], structuredContent: { ...structuredContent } };
}

async function runCodeCall(
  client: AirlockClient,
  args: z.output<Tools['run_code']['input']>,
  signal: AbortSignal,
): Promise<CallToolResult> {
  const { language, code, files, stdin, session_id, limits, backend, template } = args;
  const given = {
    ...(files === undefined ? {} : { files }),
    ...(stdin === undefined ? {} : { stdin }),
    ...(limits === undefined ? {} : { limits }),
  };
  if (session_id === undefined) {
    if (language === undefined) {
      return toolError('invalid_request', 'language: is required without session_id', {
        status: 400,
        field: 'language',
      });
    }
    const request = {
      language,
      code,
      ...given,
      ...(backend === undefined ? {} : { backend: backend as Backend }),
      ...(template === undefined ? {} : { template }),
    };
    return renderExecution(await client.run(request, { signal }));
  }
  if (template !== undefined) {
    return toolError('invalid_request', 'template: applies to a fresh sandbox, not to a session cell', {
      status: 400,
      field: 'template',
    });
  }
  const session = await client.getSession(session_id, { signal });
  if (session.status === 'closed') {
    return toolError(
      'session_closed',
      `session ${session.id} is closed (${session.closed_reason ?? 'unknown reason'}); create a new one`,
      { status: 409 },
    );
  }
  if (language !== undefined && session.language !== language) {
    return toolError(
      'invalid_request',
      `language: session ${session.id} runs ${session.language}, not ${language}; leave language out or use another session`,
      { status: 400, field: 'language' },
    );
  }
  if (backend !== undefined && backend !== 'auto' && backend !== session.backend) {
    return toolError(
      'invalid_request',
      `backend: session ${session.id} runs on ${session.backend}, not ${backend}; a cell runs where its session does`,
      { status: 400, field: 'backend' },
    );
  }
  return renderExecution(await client.runCell(session_id, { code, ...given }, { signal }));
}

async function createSessionCall(
  client: AirlockClient,
  args: z.output<Tools['create_session']['input']>,
  signal: AbortSignal,
): Promise<CallToolResult> {
  const {
    language,
    backend,
    template,
    limits,
    from_snapshot,
    idle_timeout_seconds,
    max_lifetime_seconds,
    on_idle,
    resume_on_worker_loss,
  } = args;
  const session = await client.createSession(
    {
      language: language as SessionLanguage,
      ...(backend === undefined ? {} : { backend: backend as Backend }),
      ...(template === undefined ? {} : { template }),
      ...(limits === undefined ? {} : { limits }),
      ...(from_snapshot === undefined ? {} : { from_snapshot }),
      ...(idle_timeout_seconds === undefined ? {} : { idle_timeout_seconds }),
      ...(max_lifetime_seconds === undefined ? {} : { max_lifetime_seconds }),
      ...(on_idle === undefined ? {} : { on_idle }),
      ...(resume_on_worker_loss === undefined ? {} : { resume_on_worker_loss }),
    },
    { signal },
  );
  const text =
    `Session ${session.id} is ${session.status}: ${session.language} on ${session.backend}` +
    `${session.template === null ? '' : ` from template ${session.template}`}` +
    `${from_snapshot === undefined ? '' : ` from snapshot ${from_snapshot}`}. ` +
    `Pass session_id "${session.id}" to run_code to run cells in it. ` +
    `It ${session.on_idle === 'pause' ? 'pauses (the next cell resumes it)' : 'closes'} at ` +
    `${session.expires_at} at the latest (later cells push the idle deadline); close it with ` +
    'close_session when done.';
  return { content: [{ type: 'text', text }], structuredContent: session };
}
