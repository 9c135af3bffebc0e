// The function-calling export of @airlock/client: JSON Schemas of the tools generated from the same zod schemas
// the MCP server validates with, without a $schema key, in the shape `{name, description, parameters}`.

import { RunCodeInput, runCodeToolSchema, toolSchemas } from '@airlock/client';
import { describe, expect, it } from 'vitest';
import { MCP_TOOLS } from './support/mcp.ts';

describe('tool schemas for function calling', () => {
  it('lists every tool once', () => {
    // The MCP server's tools in its order, but list_executions (an MCP view of the REST listing).
    expect(toolSchemas.map((t) => t.name)).toEqual(MCP_TOOLS.filter((name) => name !== 'list_executions'));
    for (const tool of toolSchemas) {
      expect(tool.parameters).toMatchObject({ type: 'object', additionalProperties: false });
      expect(tool.parameters).not.toHaveProperty('$schema');
      expect(tool.description.length).toBeGreaterThan(40);
    }
  });

  it('describes run_code for a model: languages, required fields, limits, no network, the output folder', () => {
    expect(runCodeToolSchema.name).toBe('run_code');
    expect(runCodeToolSchema.parameters.required).toEqual(['code']);
    expect(runCodeToolSchema.parameters.properties).toMatchObject({
      language: {
        type: 'string',
        enum: ['javascript', 'typescript', 'python', 'bash', 'c', 'cpp', 'go', 'rust', 'java', 'ruby', 'php'],
      },
      code: { type: 'string', maxLength: 1_000_000 },
      files: {
        type: 'array',
        maxItems: 100,
        items: { type: 'object', required: ['path', 'content'], additionalProperties: false },
      },
      stdin: { type: 'string' },
      session_id: { type: 'string' },
      template: { type: 'string', pattern: '^[a-z][a-z0-9-]{0,39}$' },
      limits: {
        type: 'object',
        additionalProperties: false,
        properties: {
          wall_time_ms: { type: 'integer', minimum: 10 },
          memory_mb: { type: 'integer', minimum: 8 },
        },
      },
    });
    expect(runCodeToolSchema.description).toMatch(/no network/i);
    expect(runCodeToolSchema.description).toContain('out/ (the folder /work/out)');
    expect(runCodeToolSchema.description).toMatch(/Limits: the server defaults/);
    expect(runCodeToolSchema.parameters.properties).toMatchObject({
      backend: { enum: ['auto', 'isolate', 'docker', 'gvisor'] },
    });
  });

  it('accepts and refuses the same arguments as the zod schema', () => {
    expect(RunCodeInput.safeParse({ language: 'python', code: 'print(1)' }).success).toBe(true);
    expect(RunCodeInput.safeParse({ language: 'python', code: 'print(1)', network: true }).success).toBe(
      false,
    );
    expect(RunCodeInput.safeParse({ language: 'cobol', code: '' }).success).toBe(false);
  });
});
