import type { ExecutionEvent } from '@airlock/protocol';
import { describe, expect, it } from 'vitest';
import { newExecution } from '../testing/fixtures.ts';
import { EVENT_OVERHEAD_BYTES, EventLog } from './event-log.ts';

const queued: ExecutionEvent = { type: 'state', status: 'queued' };
const running: ExecutionEvent = { type: 'state', status: 'running' };
const out = (data: string): ExecutionEvent => ({ type: 'output', stream: 'stdout', data });
const result: ExecutionEvent = { type: 'result', execution: newExecution('t') };

describe('EventLog', () => {
  it('gives events back in order: states, output, result', () => {
    const log = new EventLog(1024);
    for (const event of [queued, running, out('a'), out('b'), result]) log.append(event);
    expect(log.toArray()).toEqual([queued, running, out('a'), out('b'), result]);
    const shifted: ExecutionEvent[] = [];
    for (let e = log.shift(); e; e = log.shift()) shifted.push(e);
    expect(shifted).toEqual([queued, running, out('a'), out('b'), result]);
    expect(log.length).toBe(0);
  });

  it('drops the oldest output beyond its byte bound, never a state or the result', () => {
    const chunk = 'x'.repeat(100);
    const perEvent = chunk.length + EVENT_OVERHEAD_BYTES;
    const log = new EventLog(perEvent * 3);
    log.append(queued);
    log.append(running);
    for (let i = 0; i < 10; i++) log.append(out(`${i}${chunk.slice(1)}`));
    log.append(result);
    const events = log.toArray();
    expect(events[0]).toEqual(queued);
    expect(events[1]).toEqual(running);
    expect(events.at(-1)).toEqual(result);
    const outputs = events.filter((e) => e.type === 'output').map((e) => e.data[0]);
    expect(outputs).toEqual(['7', '8', '9']);
    expect(log.dropped).toBe(7);
    expect(log.outputBytes).toBeLessThanOrEqual(perEvent * 3);
  });

  it('bounds a flood of tiny chunks too', () => {
    const log = new EventLog(10 * EVENT_OVERHEAD_BYTES);
    for (let i = 0; i < 10_000; i++) log.append(out(''));
    expect(log.length).toBe(10);
  });

  it('keeps a copy independent of the original', () => {
    const log = new EventLog(1024);
    log.append(queued);
    log.append(running);
    const copy = log.copy();
    copy.shift();
    copy.append(out('only in the copy'));
    expect(log.toArray()).toEqual([queued, running]);
    expect(copy.toArray()).toEqual([running, out('only in the copy')]);
  });

  it('refuses anything after the result, and a state after output', () => {
    const log = new EventLog(1024);
    log.append(out('a'));
    expect(() => log.append(running)).toThrow(/state/);
    log.append(result);
    expect(() => log.append(out('late'))).toThrow(/result/);
  });

  it('keeps its bound across many shifts (compaction)', () => {
    const log = new EventLog(1_000_000);
    for (let i = 0; i < 5000; i++) log.append(out(String(i)));
    for (let i = 0; i < 4000; i++) expect(log.shift()).toEqual(out(String(i)));
    expect(log.length).toBe(1000);
    expect(log.toArray()[0]).toEqual(out('4000'));
  });
});
