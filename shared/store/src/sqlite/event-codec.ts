// A finished execution's replay, as stored: its state events and output chunks in the order they happened,
// each chunk that is a piece of the result's stdout or stderr written as a reference into it (stream, length,
// and the offset when it is not the next piece), any other chunk written out. The result event is not stored:
// it is the execution itself. So output is stored once, in the result, and a late watcher still gets the
// chunks as they came. Must give back exactly the events it was given, then the result event.

import type { Execution, ExecutionEvent, ExecutionResult, OutputStream } from '@airlock/protocol';

/** A state, or [stream, length] (the next piece), [stream, length, offset], or [stream, text]. */
type EncodedEvent = string | [0 | 1, number] | [0 | 1, number, number] | [0 | 1, string];

const STREAMS: readonly OutputStream[] = ['stdout', 'stderr'];
/** Shorter chunks that are not the next piece are written out rather than searched for. */
const SEARCH_MIN_CHARS = 64;

export function encodeEvents(events: readonly ExecutionEvent[], result: ExecutionResult | null): string {
  const cursor = [0, 0];
  const encoded: EncodedEvent[] = [];
  for (const event of events) {
    if (event.type === 'state') encoded.push(event.status);
    if (event.type !== 'output') continue;
    const s = event.stream === 'stdout' ? 0 : 1;
    const whole = result?.[event.stream] ?? '';
    const data = event.data;
    const at = cursor[s]!;
    if (data.length > 0 && whole.startsWith(data, at)) {
      encoded.push([s, data.length]);
      cursor[s] = at + data.length;
      continue;
    }
    const found = data.length >= SEARCH_MIN_CHARS ? whole.indexOf(data, at) : -1;
    if (found >= 0) {
      encoded.push([s, data.length, found]);
      cursor[s] = found + data.length;
    } else {
      encoded.push([s, data]);
    }
  }
  return JSON.stringify(encoded);
}

export function decodeEvents(encoded: string, execution: Execution): ExecutionEvent[] {
  const result = execution.result;
  const cursor = [0, 0];
  const events: ExecutionEvent[] = [];
  for (const item of JSON.parse(encoded) as EncodedEvent[]) {
    if (typeof item === 'string') {
      events.push({ type: 'state', status: item as 'queued' | 'running' });
      continue;
    }
    const [s, second, offset] = item;
    const stream = STREAMS[s]!;
    if (typeof second === 'string') {
      events.push({ type: 'output', stream, data: second });
      continue;
    }
    const at = offset ?? cursor[s]!;
    const data = (result?.[stream] ?? '').slice(at, at + second);
    cursor[s] = at + second;
    events.push({ type: 'output', stream, data });
  }
  events.push({ type: 'result', execution });
  return events;
}
