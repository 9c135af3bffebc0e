// The ordered events of one execution (states, then output chunks, then the result), bounded in bytes.
// Used both as an execution's buffer for late watchers and as one watcher's backlog.
// Must never drop a state or result event, and never hold more output than its byte bound.

import type { ExecutionEvent } from '@airlock/protocol';

type OutputEvent = Extract<ExecutionEvent, { type: 'output' }>;

/** Counted per output event on top of its data, so a flood of tiny chunks is bounded too. */
export const EVENT_OVERHEAD_BYTES = 64;

interface BufferedOutput {
  event: OutputEvent;
  bytes: number;
}

export class EventLog {
  readonly #maxOutputBytes: number;
  #states: ExecutionEvent[] = [];
  #outputs: BufferedOutput[] = [];
  #head = 0;
  #outputBytes = 0;
  #dropped = 0;
  #result: ExecutionEvent | undefined;

  constructor(maxOutputBytes: number) {
    this.#maxOutputBytes = maxOutputBytes;
  }

  /** True once the result event is in the log (it stays until shifted). */
  get hasResult(): boolean {
    return this.#result !== undefined;
  }

  get outputBytes(): number {
    return this.#outputBytes;
  }

  /** Output events dropped so far to stay within the byte bound. */
  get dropped(): number {
    return this.#dropped;
  }

  get length(): number {
    return this.#states.length + this.#outputs.length - this.#head + (this.#result ? 1 : 0);
  }

  append(event: ExecutionEvent): void {
    if (this.#result) throw new Error('EventLog: no event may follow the result');
    if (event.type === 'result') {
      this.#result = event;
    } else if (event.type === 'state') {
      if (this.#outputs.length > this.#head) throw new Error('EventLog: a state event may not follow output');
      this.#states.push(event);
    } else {
      const bytes = Buffer.byteLength(event.data, 'utf8') + EVENT_OVERHEAD_BYTES;
      this.#outputs.push({ event, bytes });
      this.#outputBytes += bytes;
      while (this.#outputBytes > this.#maxOutputBytes && this.#outputs.length > this.#head) {
        this.#shiftOutput();
        this.#dropped++;
      }
    }
  }

  /** Removes and returns the oldest event, in order: states, outputs, result. */
  shift(): ExecutionEvent | undefined {
    const state = this.#states.shift();
    if (state) return state;
    const output = this.#shiftOutput();
    if (output) return output;
    const result = this.#result;
    this.#result = undefined;
    return result;
  }

  toArray(): ExecutionEvent[] {
    const outputs = this.#outputs.slice(this.#head).map((o) => o.event);
    return [...this.#states, ...outputs, ...(this.#result ? [this.#result] : [])];
  }

  /** An independent log holding the same events (the events themselves are shared, not cloned). */
  copy(): EventLog {
    const log = new EventLog(this.#maxOutputBytes);
    log.#states = [...this.#states];
    log.#outputs = this.#outputs.slice(this.#head);
    log.#outputBytes = this.#outputBytes;
    log.#result = this.#result;
    return log;
  }

  #shiftOutput(): OutputEvent | undefined {
    const first = this.#outputs[this.#head];
    if (!first) return undefined;
    this.#head++;
    this.#outputBytes -= first.bytes;
    if (this.#head === this.#outputs.length) {
      this.#outputs = [];
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#outputs.length) {
      this.#outputs = this.#outputs.slice(this.#head);
      this.#head = 0;
    }
    return first.event;
  }
}
