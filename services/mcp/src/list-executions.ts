// The `list_executions` tool: one page of the caller's executions (newest first) with the listing's filters,
// rendered as one line each plus the cursor of the next page. Read-only; talks to Airlock only through the
// client, so it shows exactly what `GET /v1/executions` says.

import type { AirlockClient } from '@airlock/client';
import { Execution, Language, Outcome, Status } from '@airlock/protocol';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

export const LIST_EXECUTIONS = {
  name: 'list_executions',
  description:
    'Lists your recent executions, newest first (id, status, outcome, language, created time). Filter by ' +
    'status, outcome, language or metadata labels; pass `cursor` from a previous answer for the next page.',
  input: z.object({
    status: Status.optional(),
    outcome: Outcome.optional(),
    language: Language.optional(),
    metadata: z.record(z.string(), z.string()).optional().describe('labels each execution must carry'),
    limit: z.number().int().min(1).max(100).optional().describe('executions per page (default 20)'),
    cursor: z.string().max(512).optional().describe('`next` of the previous answer'),
  }),
  output: z.object({ data: z.array(Execution), next: z.string().nullable() }),
} as const;

export type ListExecutionsInput = z.infer<typeof LIST_EXECUTIONS.input>;

export async function listExecutionsCall(
  client: AirlockClient,
  args: ListExecutionsInput,
  signal: AbortSignal,
): Promise<CallToolResult> {
  const { limit, ...filters } = args;
  const page = await client.listExecutions(
    Object.fromEntries(Object.entries({ ...filters, limit: limit ?? 20 }).filter(([, v]) => v !== undefined)),
    { signal },
  );
  const lines = page.data.map(
    (e) =>
      `${e.id} ${e.status}${e.result ? ` ${e.result.outcome}` : ''} ${e.language} on ${e.backend}, created ${e.created_at}`,
  );
  if (lines.length === 0) lines.push('No executions match.');
  if (page.next) lines.push(`More: pass cursor "${page.next}".`);
  return { content: [{ type: 'text', text: lines.join('\n') }], structuredContent: page };
}
