// JSON Schemas of the tools for function-calling agents that do not speak MCP: `{name, description,
// parameters}` — the shape of an OpenAI `function`, a Gemini function declaration, or (as `input_schema`) an
// Anthropic tool. Generated from the zod schemas in tools.ts, so they cannot drift from what the server accepts.

import { z } from 'zod';
import { TOOL_DEFINITIONS, type ToolDefinition } from './tools.ts';

export interface FunctionToolSchema {
  name: string;
  description: string;
  /** JSON Schema (draft 2020-12) of the arguments object. */
  parameters: Record<string, unknown>;
}

function toFunctionSchema(tool: ToolDefinition): FunctionToolSchema {
  const { $schema: _ignored, ...parameters } = z.toJSONSchema(tool.input, { io: 'input' }) as Record<
    string,
    unknown
  >;
  return { name: tool.name, description: tool.description, parameters };
}

export const runCodeToolSchema: FunctionToolSchema = toFunctionSchema(TOOL_DEFINITIONS.run_code);
export const createSessionToolSchema: FunctionToolSchema = toFunctionSchema(TOOL_DEFINITIONS.create_session);
export const closeSessionToolSchema: FunctionToolSchema = toFunctionSchema(TOOL_DEFINITIONS.close_session);
export const snapshotSessionToolSchema: FunctionToolSchema = toFunctionSchema(
  TOOL_DEFINITIONS.snapshot_session,
);
export const pauseSessionToolSchema: FunctionToolSchema = toFunctionSchema(TOOL_DEFINITIONS.pause_session);
export const resumeSessionToolSchema: FunctionToolSchema = toFunctionSchema(TOOL_DEFINITIONS.resume_session);
export const updateSessionToolSchema: FunctionToolSchema = toFunctionSchema(TOOL_DEFINITIONS.update_session);
export const listRuntimesToolSchema: FunctionToolSchema = toFunctionSchema(TOOL_DEFINITIONS.list_runtimes);
export const uploadFileToolSchema: FunctionToolSchema = toFunctionSchema(TOOL_DEFINITIONS.upload_file);
export const downloadFileToolSchema: FunctionToolSchema = toFunctionSchema(TOOL_DEFINITIONS.download_file);

/** Every tool, in the order a host should list them. */
export const toolSchemas: readonly FunctionToolSchema[] = [
  runCodeToolSchema,
  createSessionToolSchema,
  closeSessionToolSchema,
  snapshotSessionToolSchema,
  pauseSessionToolSchema,
  resumeSessionToolSchema,
  updateSessionToolSchema,
  uploadFileToolSchema,
  downloadFileToolSchema,
  listRuntimesToolSchema,
];
