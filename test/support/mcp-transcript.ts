// Prints a transcript of a real MCP session for the README: starts the embedded service on loopback, spawns the
// stdio MCP server against it with the SDK's Client, and runs create_session, cells, a chart and close_session.
// Run with `node test/support/mcp-transcript.ts`; everything it starts is stopped before it exits.

import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { PNG } from 'pngjs';
import { connectStdio } from './mcp.ts';
import { startService } from './service.ts';

function show(name: string, args: Record<string, unknown>, result: CallToolResult): void {
  process.stdout.write(`→ ${name} ${JSON.stringify(args)}\n`);
  for (const block of result.content) {
    if (block.type === 'text') {
      process.stdout.write(`${block.text.replace(/^/gm, '  ').trimEnd()}\n`);
    } else if (block.type === 'image') {
      const png = PNG.sync.read(Buffer.from(block.data, 'base64'));
      process.stdout.write(
        `  [image ${block.mimeType}, ${png.width}×${png.height}, ${block.data.length} base64 chars]\n`,
      );
    } else {
      process.stdout.write(`  [${block.type}]\n`);
    }
  }
  const flags = result.isError ? 'isError: true' : 'isError: false';
  const structured = result.structuredContent as Record<string, any> | undefined;
  const summary = structured?.result
    ? {
        outcome: structured.result.outcome,
        value: structured.result.value,
        session_id: structured.session_id,
      }
    : structured
      ? { id: structured.id, status: structured.status, closed_reason: structured.closed_reason }
      : undefined;
  process.stdout.write(`  (${flags}${summary ? `; structuredContent ${JSON.stringify(summary)}` : ''})\n\n`);
}

const svc = await startService({
  AIRLOCK_BACKENDS: 'isolate,docker,gvisor',
  AIRLOCK_POOL_SIZE: '1',
});
try {
  await using mcp = await connectStdio(svc.url);
  const { tools } = await mcp.client.listTools();
  process.stdout.write(`tools: ${tools.map((t) => t.name).join(', ')}\n\n`);
  const call = async (name: string, args: Record<string, unknown>) => {
    const result = (await mcp.client.callTool({ name, arguments: args }, undefined, {
      timeout: 120_000,
    })) as CallToolResult;
    show(name, args, result);
    return result;
  };
  const created = await call('create_session', { language: 'python' });
  const session_id = (created.structuredContent as { id: string }).id;
  const cell = (code: string) => call('run_code', { language: 'python', session_id, code });
  await cell(
    'import pandas as pd\ndf = pd.DataFrame({"x": range(1, 6)})\ndf["y"] = df.x ** 2\nprint(len(df), "rows")',
  );
  await cell('df.y.sum()');
  await cell(
    'import matplotlib.pyplot as plt\nplt.plot(df.x, df.y, marker="o")\nplt.title("y = x^2")\nplt.show()',
  );
  await cell('df.z');
  await call('close_session', { session_id });
  await cell('df.y.sum()');
} finally {
  await svc.close();
}
