// Turns a finished execution into an MCP tool result: a text a model can read (outcome, exit code, stdout,
// stderr, the cell's value and exception, output files), image content for every PNG (display outputs, the
// value, PNG output files), embedded resources for other output files, and the full execution as
// structuredContent. Any outcome but success is an error result, so the model sees at once that it failed.

import type { Execution } from '@airlock/protocol';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

type Content = CallToolResult['content'][number];

/** The rich outputs of a session cell (sessions contract), read defensively: absent for most backends. */
const MimeBundle = z.record(z.string(), z.string());
const RichOutputs = z.object({
  display: z.array(MimeBundle).optional(),
  value: MimeBundle.nullable().optional(),
  exception: z.object({ name: z.string(), message: z.string(), traceback: z.string() }).nullable().optional(),
});

const IMAGE_TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
};
const TEXT_TYPES: Record<string, string> = {
  txt: 'text/plain',
  csv: 'text/csv',
  json: 'application/json',
  md: 'text/markdown',
  html: 'text/html',
  svg: 'image/svg+xml',
  xml: 'application/xml',
  log: 'text/plain',
  tsv: 'text/tab-separated-values',
};

function extension(path: string): string {
  return path.slice(path.lastIndexOf('.') + 1).toLowerCase();
}

/** The text of a base64 file, or undefined when it is not valid UTF-8. */
function decodeUtf8(base64: string): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(base64, 'base64'));
  } catch {
    return undefined;
  }
}

function section(title: string, body: string): string {
  return `--- ${title} ---\n${body.endsWith('\n') || body === '' ? body : `${body}\n`}`;
}

function headline(execution: Execution): string {
  const result = execution.result;
  if (!result) return `status: ${execution.status} (no result yet)`;
  const parts = [`outcome: ${result.outcome}`];
  if (result.exit_code !== null) parts.push(`exit code ${result.exit_code}`);
  if (result.signal !== null) parts.push(`signal ${result.signal}`);
  const where = `${execution.language} on ${execution.backend}, ${Math.round(result.usage.wall_ms)} ms`;
  const line = `${parts.join(', ')} (${where}; execution ${execution.id})`;
  return result.reason ? `${line}\nreason: ${result.reason}` : line;
}

function outputFiles(execution: Execution): { text: string[]; content: Content[] } {
  const files = execution.result?.files ?? [];
  const text: string[] = [];
  const content: Content[] = [];
  for (const file of files) {
    text.push(`out/${file.path} (${file.size} bytes)`);
    const ext = extension(file.path);
    const uri = `airlock://executions/${execution.id}/files/${file.path}`;
    const image = IMAGE_TYPES[ext];
    if (image) {
      content.push({ type: 'image', data: file.content, mimeType: image });
      continue;
    }
    const textType = TEXT_TYPES[ext];
    const utf8 = textType ? decodeUtf8(file.content) : undefined;
    if (textType && utf8 !== undefined) {
      content.push({ type: 'resource', resource: { uri, mimeType: textType, text: utf8 } });
    } else {
      content.push({
        type: 'resource',
        resource: { uri, mimeType: 'application/octet-stream', blob: file.content },
      });
    }
  }
  return { text, content };
}

export function renderExecution(execution: Execution): CallToolResult {
  const result = execution.result;
  const lines: string[] = [headline(execution)];
  const images: Content[] = [];
  if (result) {
    // A compiled language's compile step: what the compiler wrote (its error on compile_error), first.
    const compile = result.compile;
    if (compile) {
      lines.push(`compile: exit code ${compile.exit_code ?? 'none (killed)'}, ${compile.wall_ms} ms`);
      if (compile.stdout !== '') lines.push(section('compile stdout', compile.stdout));
      if (compile.stderr !== '') lines.push(section('compile stderr', compile.stderr));
    }
    if (result.matched !== undefined) lines.push(`expected_output matched: ${result.matched}`);
    if (result.stdout !== '' || result.truncated.stdout)
      lines.push(section(result.truncated.stdout ? 'stdout (truncated)' : 'stdout', result.stdout));
    if (result.stderr !== '' || result.truncated.stderr)
      lines.push(section(result.truncated.stderr ? 'stderr (truncated)' : 'stderr', result.stderr));
    const rich = RichOutputs.safeParse(result);
    if (rich.success) {
      const { display = [], value, exception } = rich.data;
      for (const bundle of display) {
        const png = bundle['image/png'];
        if (png !== undefined) images.push({ type: 'image', data: png, mimeType: 'image/png' });
        else if (bundle['text/plain'] !== undefined) lines.push(section('display', bundle['text/plain']));
      }
      if (display.length > 0) {
        const figures = display.filter((b) => b['image/png'] !== undefined).length;
        if (figures > 0) lines.push(`${figures} figure(s) attached as image/png`);
      }
      if (value) {
        if (value['text/plain'] !== undefined) lines.push(section('value', value['text/plain']));
        const png = value['image/png'];
        if (png !== undefined) images.push({ type: 'image', data: png, mimeType: 'image/png' });
      }
      if (exception) {
        // The traceback usually went to stderr already; repeat it only when it did not.
        const shown = exception.traceback !== '' && result.stderr.includes(exception.traceback.trim());
        const body = `${exception.name}: ${exception.message}`;
        lines.push(section('exception', shown || exception.traceback === '' ? body : exception.traceback));
      }
    }
  }
  const files = outputFiles(execution);
  if (files.text.length > 0) lines.push(section('output files', files.text.join('\n')));
  const failed = result === null || result.outcome !== 'success';
  return {
    content: [{ type: 'text', text: lines.join('\n') }, ...images, ...files.content],
    structuredContent: execution as unknown as Record<string, unknown>,
    ...(failed ? { isError: true } : {}),
  };
}
