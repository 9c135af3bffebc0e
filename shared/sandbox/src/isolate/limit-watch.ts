// The time and memory watch of a job (or a session cell) inside the isolate host: the wall-clock deadline, and
// every few milliseconds the isolate's CPU time against its limit and the host's resident growth against the
// memory limit (JobMemory), with a heap sample every fifth time for the peak. It only reports; the run decides
// how to end. Must never read a disposed isolate, and never report after stop().

import type { ResolvedLimits } from '@airlock/protocol';
import type ivm from 'isolated-vm';
import type { JobMemory } from './job-memory.ts';

/** How often the host checks CPU time and resident memory while a guest runs (the heap every fifth time). */
const WATCH_INTERVAL_MS = 10;
const HEAP_SAMPLE_EVERY = 5;

export interface LimitEvents {
  /** The wall-clock or the CPU time limit has passed; `reason` says which. */
  timeout(reason: string): void;
  /** The host holds more for the guest than its memory limit allows. */
  memoryExceeded(): void;
}

export class LimitWatch {
  readonly #limits: Pick<ResolvedLimits, 'wall_time_ms' | 'cpu_time_ms'>;
  readonly #events: LimitEvents;
  #watched: { isolate: ivm.Isolate; memory: JobMemory } | null = null;
  #cpuBase = 0n;
  #cpuMs: number | null = null;
  #ticks = 0;
  #deadline: NodeJS.Timeout | undefined;
  #interval: NodeJS.Timeout | undefined;

  constructor(limits: Pick<ResolvedLimits, 'wall_time_ms' | 'cpu_time_ms'>, events: LimitEvents) {
    this.#limits = limits;
    this.#events = events;
  }

  /** CPU time the guest used (ms), as last read; null before the first reading. */
  get cpuMs(): number | null {
    return this.#cpuMs;
  }

  /** Starts the wall clock and the watch; the isolate may arrive later (see watch()). */
  start(): void {
    const wallMs = this.#limits.wall_time_ms;
    this.#deadline = setTimeout(
      () => this.#events.timeout(`wall time limit of ${wallMs} ms exceeded`),
      wallMs,
    );
    this.#interval = setInterval(() => this.#tick(), WATCH_INTERVAL_MS);
  }

  /** Watches `isolate` and `memory` from now on; the guest's CPU time counts from here. */
  watch(isolate: ivm.Isolate, memory: JobMemory): void {
    this.#cpuBase = isolate.cpuTime;
    this.#watched = { isolate, memory };
  }

  /** Reads the CPU time used so far, unless the isolate is gone; returns the last reading. */
  readCpu(): number | null {
    const isolate = this.#watched?.isolate;
    if (isolate !== undefined && !isolate.isDisposed) {
      this.#cpuMs = Number(isolate.cpuTime - this.#cpuBase) / 1e6;
    }
    return this.#cpuMs;
  }

  stop(): void {
    clearTimeout(this.#deadline);
    clearInterval(this.#interval);
  }

  #tick(): void {
    const watched = this.#watched;
    if (watched === null || watched.isolate.isDisposed) return;
    const { cpu_time_ms } = this.#limits;
    if ((this.readCpu() ?? 0) > cpu_time_ms) {
      this.#events.timeout(`cpu time limit of ${cpu_time_ms} ms exceeded`);
      return;
    }
    const memory = watched.memory;
    if (memory.sampleResident()) {
      this.#events.memoryExceeded();
      return;
    }
    this.#ticks += 1;
    if (this.#ticks % HEAP_SAMPLE_EVERY === 1) memory.sampleHeap(watched.isolate);
  }
}
