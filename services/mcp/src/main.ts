// The stdio MCP server: `node services/mcp/src/main.ts`, started by an agent host. Parses AIRLOCK_URL and
// AIRLOCK_TOKEN once, then serves MCP on stdin/stdout. stdout belongs to the protocol: every log line goes to
// stderr, and the token is never written anywhere.

import { AirlockClient, type AirlockClientOptions, type ToolCatalog } from '@airlock/client';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { McpConfigError, parseMcpConfig } from './config.ts';
import { createAirlockMcpServer } from './server.ts';

function log(message: string, detail: Record<string, unknown> = {}): void {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), msg: message, ...detail })}\n`);
}

/**
 * What the Airlock server offers, for the tools' schemas. When it does not answer at start-up the tools fall
 * back to the protocol's own bounds (its calls will name the URL they could not reach), and the log says so.
 */
async function readCatalog(airlock: AirlockClientOptions): Promise<ToolCatalog | undefined> {
  const client = new AirlockClient(airlock);
  try {
    const catalog = await client.runtimeCatalog({ signal: AbortSignal.timeout(10_000) });
    // A server without templates (older, or one that answers no /v1/templates) leaves them out of the tools.
    const templates = await client.templates({}, { signal: AbortSignal.timeout(10_000) }).catch(() => []);
    return { ...catalog, templates };
  } catch (error) {
    log('Airlock unreachable at start-up: the tools advertise the protocol bounds, not its ceilings', {
      airlock: airlock.baseUrl,
      err: error instanceof Error ? error.message : String(error),
    });
    return undefined;
  }
}

async function main(): Promise<void> {
  // A log line that cannot be written (stderr closed or on a full disk) is dropped; it never ends the server.
  process.stderr.on('error', () => {});
  let config: ReturnType<typeof parseMcpConfig>;
  try {
    config = parseMcpConfig(process.env);
  } catch (error) {
    if (error instanceof McpConfigError) {
      process.stderr.write(`airlock-mcp: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const airlock = { baseUrl: config.airlockUrl, token: config.token };
  const server = createAirlockMcpServer({
    airlock,
    catalog: await readCatalog(airlock),
    onError: (error) =>
      log('tool call failed', { err: error instanceof Error ? error.message : String(error) }),
  });
  const transport = new StdioServerTransport();
  let stopping = false;
  const stop = (why: string) => {
    if (stopping) return;
    stopping = true;
    log('stopping', { why });
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  transport.onclose = () => stop('stdin closed');
  process.stdin.once('end', () => stop('stdin closed'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  await server.connect(transport);
  log('airlock MCP server on stdio', { airlock: config.airlockUrl, token: config.token !== undefined });
}

await main();
