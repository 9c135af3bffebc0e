// MCP clients for the tests, made with the SDK's own Client: over stdio (spawning `node services/mcp/src/main.ts`
// against a started service) and over streamable HTTP to the gateway's /mcp. Each is disposable; the stdio one
// keeps the child's stderr for assertions and is closed (the child exits) on dispose.

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, expect } from 'vitest';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const MCP_MAIN = join(REPO_ROOT, 'services', 'mcp', 'src', 'main.ts');

/** The server's tools, in the order it lists them. */
export const MCP_TOOLS = [
  'run_code',
  'create_session',
  'close_session',
  'snapshot_session',
  'pause_session',
  'resume_session',
  'update_session',
  'upload_file',
  'download_file',
  'list_runtimes',
  'list_executions',
] as const;

export type McpTransportName = 'stdio' | 'http';
export const MCP_TRANSPORTS: readonly McpTransportName[] = ['stdio', 'http'];

export interface TestMcpClient extends AsyncDisposable {
  client: Client;
  /** What the stdio server wrote to stderr (empty over HTTP). */
  stderr: () => string;
  close(): Promise<void>;
}

/** Tool call timeouts: container runs on a loaded 2-core machine take a while. */
export const TOOL_TIMEOUT_MS = 120_000;

function wrap(client: Client, stderr: () => string): TestMcpClient {
  const close = () => client.close();
  return { client, stderr, close, [Symbol.asyncDispose]: close };
}

/** Spawns the stdio MCP server with AIRLOCK_URL (and AIRLOCK_TOKEN) and connects to it. */
export async function connectStdio(airlockUrl: string, token?: string): Promise<TestMcpClient> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', AIRLOCK_URL: airlockUrl };
  if (token !== undefined) env.AIRLOCK_TOKEN = token;
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [MCP_MAIN],
    env,
    cwd: REPO_ROOT,
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const client = new Client({ name: 'airlock-test', version: '0.0.0' });
  await client.connect(transport);
  return wrap(client, () => stderr);
}

/** Connects to the gateway's /mcp with an optional bearer token. */
export async function connectHttp(serviceUrl: string, token?: string): Promise<TestMcpClient> {
  const headers: Record<string, string> = {};
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const transport = new StreamableHTTPClientTransport(new URL('/mcp', serviceUrl), {
    requestInit: { headers },
  });
  const client = new Client({ name: 'airlock-test', version: '0.0.0' });
  await client.connect(transport);
  return wrap(client, () => '');
}

export function connectMcp(
  name: McpTransportName,
  serviceUrl: string,
  token?: string,
): Promise<TestMcpClient> {
  return name === 'stdio' ? connectStdio(serviceUrl, token) : connectHttp(serviceUrl, token);
}

/**
 * Connects one MCP client over `transport` to the service at `serviceUrl()` for the calling describe block
 * (beforeAll) and closes it after the block (afterAll). Returns a getter: the client exists once the tests run.
 */
export function useMcpClient(transport: McpTransportName, serviceUrl: () => string): () => TestMcpClient {
  let mcp: TestMcpClient | undefined;
  beforeAll(async () => {
    mcp = await connectMcp(transport, serviceUrl());
  }, 60_000);
  afterAll(async () => {
    await mcp?.close();
  });
  return () => {
    if (!mcp) throw new Error(`the MCP client over ${transport} is not connected (use it inside a test)`);
    return mcp;
  };
}

/** Calls a tool with the long test timeout; the SDK's result type, narrowed to a plain tool result. */
export async function callTool(
  client: Client,
  name: string,
  args: Record<string, unknown>,
): Promise<CallToolResult> {
  const result = await client.callTool({ name, arguments: args }, undefined, { timeout: TOOL_TIMEOUT_MS });
  return result as CallToolResult;
}

/** The first text block of a tool result. */
/** The structured content of a tool result that must not be an error (else the test fails with its text). */
export function structured<T>(result: CallToolResult): T {
  expect(result.isError, textOf(result)).toBeUndefined();
  return result.structuredContent as T;
}

export function textOf(result: CallToolResult): string {
  const block = result.content.find((c) => c.type === 'text');
  if (block?.type !== 'text') throw new Error(`no text content in ${JSON.stringify(result)}`);
  return block.text;
}

/** Every image block of a tool result. */
export function imagesOf(result: CallToolResult): { data: string; mimeType: string }[] {
  return result.content.flatMap((c) => (c.type === 'image' ? [{ data: c.data, mimeType: c.mimeType }] : []));
}
