// @airlock/mcp: the Airlock MCP server (code-interpreter tools) for stdio (main.ts) and for the gateway's /mcp.
// Explicit exports only.

export type { ToolCatalog } from '@airlock/client';
export { type McpConfig, McpConfigError, parseMcpConfig } from './config.ts';
export { serveMcpHttpRequest } from './http-handler.ts';
export { renderExecution } from './render.ts';
export {
  type AirlockMcpServerOptions,
  createAirlockMcpServer,
  SERVER_NAME,
  SERVER_VERSION,
} from './server.ts';
