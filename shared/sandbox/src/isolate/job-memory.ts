// What one job (or one session) makes its isolate host hold, measured inside the host, two ways: the isolate's
// heap plus the array buffers isolated-vm counts (isolated-vm enforces that part itself, after collecting
// garbage), and the growth of the host process's resident memory since the job began, which also covers what V8
// keeps outside that count (WebAssembly memories, resizable buffers, Intl objects, async waiters). The usage
// reported is the larger of the two. A job is over when its resident growth passes its limit plus its heap's own
// slack (garbage not yet collected, the young generation), or when it fails with its heap and buffers at the
// limit (an allocation isolated-vm refused). The host's own Node heap and buffers (output on its way out) are
// left out of the growth; the parent's cap on the whole process bounds them (host-memory-cap.ts).
// Must never let a sample it could not take lower the peak, and never touch the isolate beyond its statistics.

import type ivm from 'isolated-vm';

const MIB = 1024 * 1024;

type HeapSample = Pick<ivm.HeapStatistics, 'used_heap_size' | 'externally_allocated_size'>;

/**
 * Resident growth a job of `memoryMb` may show above its limit before it is stopped: what its heap holds
 * beyond its live data (garbage V8 has not collected yet, the young generation). Bytes.
 */
export function heapSlackBytes(memoryMb: number): number {
  return Math.max(16, Math.ceil(memoryMb / 4)) * MIB;
}

/** The host process's resident bytes less its own Node heap and buffers: what its isolates and V8 hold. */
export function residentBytes(): number {
  const { rss, heapTotal, external } = process.memoryUsage();
  return rss - heapTotal - external;
}

export class JobMemory {
  readonly limitBytes: number;
  readonly #residentLimit: number;
  /** The lowest residentBytes() seen since the job began: memory freed that was not the job's lowers it. */
  #baseline: number;
  #heap = 0;
  #resident = 0;
  #residentPeak = 0;
  #peak: number | null = null;
  #sampling = false;

  /** `memoryMb`: the job's limit; `baseline`: residentBytes() before the job's own code ran. */
  constructor(memoryMb: number, baseline: number = residentBytes()) {
    this.limitBytes = memoryMb * MIB;
    this.#residentLimit = this.limitBytes + heapSlackBytes(memoryMb);
    this.#baseline = baseline;
  }

  /** The largest usage seen (heap and buffers, or resident growth), in bytes; null before the first sample. */
  get peak(): number | null {
    return this.#peak;
  }

  /** True once the job's resident growth went past its limit and its heap's slack. */
  get exceeded(): boolean {
    return this.#residentPeak > this.#residentLimit;
  }

  /** Samples the host's resident growth; returns `exceeded`. */
  sampleResident(): boolean {
    const resident = residentBytes();
    this.#baseline = Math.min(this.#baseline, resident);
    this.#resident = resident - this.#baseline;
    this.#residentPeak = Math.max(this.#residentPeak, this.#resident);
    this.#record();
    return this.exceeded;
  }

  /** Samples the isolate's heap in the background (at most one sample in flight), for the peak only. */
  sampleHeap(isolate: ivm.Isolate): void {
    if (this.#sampling || isolate.isDisposed) return;
    this.#sampling = true;
    isolate.getHeapStatistics().then(
      (stats) => {
        this.#sampling = false;
        this.#takeHeap(stats);
      },
      () => {
        // Disposed while the sample was queued: keep the last one.
        this.#sampling = false;
      },
    );
  }

  /**
   * Samples heap and resident growth at once; returns `exceeded`. Only for an isolate that runs nothing, or from
   * inside one of its synchronous bridge callbacks (isolated-vm lets those read the statistics).
   */
  sampleIdle(isolate: ivm.Isolate): boolean {
    try {
      if (!isolate.isDisposed) this.#takeHeap(isolate.getHeapStatisticsSync());
    } catch {
      // Disposed under us: keep the last heap sample.
    }
    return this.sampleResident();
  }

  /**
   * The last look when the guest itself ends the job (under the same conditions as sampleIdle): true when the
   * job is over, or when it `failed` with its heap and array buffers at the limit (an allocation was refused).
   */
  overAtEnd(isolate: ivm.Isolate, failed: boolean): boolean {
    const exceeded = this.sampleIdle(isolate);
    return exceeded || (failed && this.#heap >= this.limitBytes);
  }

  #takeHeap(stats: HeapSample): void {
    this.#heap = stats.used_heap_size + stats.externally_allocated_size;
    this.#record();
  }

  #record(): void {
    this.#peak = Math.max(this.#peak ?? 0, this.#heap, this.#resident);
  }
}
