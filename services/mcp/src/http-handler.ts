// Serves one streamable-HTTP MCP request (a POST of JSON-RPC messages) statelessly: a fresh McpServer and
// transport for this request only, closed when the response is. The host (the gateway's /mcp route) has already
// authenticated the caller and parsed the body; it hands over the raw request and response.
//
// Why stateless: tool calls are self-contained request/answer pairs, and the only state worth keeping
// (code-interpreter sessions) lives in Airlock under a session_id the model passes back; this server sends no
// requests or notifications of its own. An MCP session would add state to expire and pin clients to one gateway
// replica, and buy nothing. The cost: a client's notifications/cancelled arrives in its own POST and cannot reach
// a call in flight (closing the connection does: the call's signal aborts and its execution is canceled).

import type { IncomingMessage, ServerResponse } from 'node:http';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { type AirlockMcpServerOptions, createAirlockMcpServer } from './server.ts';

export async function serveMcpHttpRequest(
  req: IncomingMessage,
  res: ServerResponse,
  parsedBody: unknown,
  options: AirlockMcpServerOptions,
): Promise<void> {
  const server = createAirlockMcpServer(options);
  // No sessionIdGenerator: stateless mode. JSON answers: one POST, one answer, nothing streamed meanwhile.
  const transport = new StreamableHTTPServerTransport({ enableJsonResponse: true });
  res.once('close', () => {
    void transport.close();
    void server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(req, res, parsedBody);
}
