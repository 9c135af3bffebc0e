// Reads the gateway's Server-Sent Events stream (GET /v1/executions/:id/events) as ExecutionEvents: `state`,
// `stdout`/`stderr` chunks and the final `result`, validated with the protocol's schema. Comments (keep-alives)
// and unknown event names are skipped; a stream that ends without `result` is an error, never a silent end.

import { ExecutionEvent } from '@airlock/protocol';
import { AirlockClientError } from './errors.ts';

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

function toExecutionEvent(raw: RawEvent): unknown {
  const payload = JSON.parse(raw.data) as Record<string, unknown>;
  switch (raw.event) {
    case 'state':
      return { type: 'state', status: payload.status };
    case 'stdout':
    case 'stderr':
      return { type: 'output', stream: raw.event, data: payload.data };
    case 'result':
      return { type: 'result', execution: payload };
    default:
      return undefined;
  }
}

/** The execution's events in order; ends after `result`. */
export async function* executionEvents(
  body: ReadableStream<Uint8Array>,
  path: string,
): AsyncGenerator<ExecutionEvent> {
  for await (const raw of sseEvents(body)) {
    let candidate: unknown;
    try {
      candidate = toExecutionEvent(raw);
    } catch (error) {
      throw new AirlockClientError({
        status: 200,
        code: 'unexpected_response',
        message: `GET ${path}: event '${raw.event}' does not carry JSON`,
        cause: error,
      });
    }
    if (candidate === undefined) continue;
    const parsed = ExecutionEvent.safeParse(candidate);
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
