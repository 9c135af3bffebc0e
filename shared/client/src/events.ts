// Reads the gateway's Server-Sent Events stream (GET /v1/executions/:id/events) as ExecutionStreamEvents whose
// `type` is the SSE event name: `state`, `stdout`, `stderr` and the final `result`, validated with zod.
// Comments (keep-alives) and unknown event names are skipped; a stream that ends without `result` is an error,
// never a silent end.

import { Execution, Status } from '@airlock/protocol';
import { z } from 'zod';
import { AirlockClientError } from './errors.ts';

/** One event of an execution's stream; `type` is the SSE event name the gateway sends. */
export const ExecutionStreamEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('state'), status: Status }),
  z.object({ type: z.literal('stdout'), data: z.string() }),
  z.object({ type: z.literal('stderr'), data: z.string() }),
  z.object({ type: z.literal('result'), execution: Execution }),
]);
export type ExecutionStreamEvent = z.infer<typeof ExecutionStreamEvent>;

interface RawEvent {
  event: string;
  data: string;
}

/** Splits an SSE byte stream into events (the subset of the format the gateway writes, plus CRLF). */
export async function* sseEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<RawEvent> {
  let buffer = '';
  let event = 'message';
  let data: string[] = [];
  for await (const chunk of body.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let newline = buffer.search(/\r?\n|\r/);
    while (newline !== -1) {
      const line = buffer.slice(0, newline);
      const eol = buffer.startsWith('\r\n', newline) ? 2 : 1;
      buffer = buffer.slice(newline + eol);
      if (line === '') {
        if (data.length > 0) yield { event, data: data.join('\n') };
        event = 'message';
        data = [];
      } else if (!line.startsWith(':')) {
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
      }
      newline = buffer.search(/\r?\n|\r/);
    }
  }
}

/** The candidate event of a raw SSE event (validated by the caller), or undefined for names it does not know. */
function toStreamEvent(raw: RawEvent): unknown {
  switch (raw.event) {
    case 'state':
    case 'stdout':
    case 'stderr':
      return { ...(JSON.parse(raw.data) as object), type: raw.event };
    case 'result':
      return { type: 'result', execution: JSON.parse(raw.data) };
    default:
      return undefined;
  }
}

/** The execution's events in order; ends after `result`. */
export async function* executionEvents(
  body: ReadableStream<Uint8Array>,
  path: string,
): AsyncGenerator<ExecutionStreamEvent> {
  for await (const raw of sseEvents(body)) {
    let candidate: unknown;
    try {
      candidate = toStreamEvent(raw);
    } catch (error) {
      throw new AirlockClientError({
        status: 200,
        code: 'unexpected_response',
        message: `GET ${path}: event '${raw.event}' does not carry JSON`,
        cause: error,
      });
    }
    if (candidate === undefined) continue;
    const parsed = ExecutionStreamEvent.safeParse(candidate);
    if (!parsed.success) {
      throw new AirlockClientError({
        status: 200,
        code: 'unexpected_response',
        message: `GET ${path}: event '${raw.event}' does not match its schema: ${parsed.error.issues[0]?.message}`,
      });
    }
    yield parsed.data;
    if (parsed.data.type === 'result') return;
  }
  throw new AirlockClientError({
    status: 200,
    code: 'unexpected_response',
    message: `GET ${path}: the event stream ended before the result`,
  });
}
