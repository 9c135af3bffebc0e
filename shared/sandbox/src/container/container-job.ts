// Runs one job in one started container: writes the job archive to its stdin, passes output on (capped) until
// both end markers with the job's nonce have arrived, and enforces the wall-clock limit, the output cap and
// cancellation by killing the whole container. The verdict is left to job-verdict.ts.
// It must never wait for the container to exit on the normal path (the markers end the job), never pass on a
// byte past the output cap, and never throw: every failure becomes an ExecutionResult.

import type { ExecutionResult, ResolvedLimits } from '@airlock/protocol';
import type Dockerode from 'dockerode';
import { cancelReason } from '../cancel-reason.ts';
import type { SandboxRunOptions } from '../sandbox.ts';
import type { AttachedContainer } from './attached-container.ts';
import type { ContainerRuntime } from './container-spec.ts';
import {
  MarkedStream,
  parseStderrTrailer,
  parseStdoutTrailer,
  type StderrSummary,
  type StdoutTrailer,
} from './end-marker.ts';
import type { JobArchive, OutputCaps } from './job-archive.ts';
import { type JobEnd, judgeJob } from './job-verdict.ts';
import { readMemoryPeak } from './memory-peak.ts';
import { OutputBudget } from './output-budget.ts';

export interface ContainerJobContext {
  /** For dockerd's own record of the job (its OOM event). */
  docker: Dockerode;
  cgroupMemoryRoot: string;
  outputCaps: OutputCaps;
  /** Deadline of the Docker calls made for the job (kill, wait, inspect). */
  dockerTimeoutMs: number;
  /** Under runsc a program can signal the runner (pid 1); under runc only the world outside can. */
  runtime: ContainerRuntime;
}

type StopOutcome = Extract<JobEnd, { kind: 'stopped' }>['outcome'];

export function runContainerJob(
  container: AttachedContainer,
  job: { archive: JobArchive; limits: ResolvedLimits },
  options: SandboxRunOptions,
  context: ContainerJobContext,
): Promise<ExecutionResult> {
  return new ContainerJob(container, job.archive, job.limits, options, context).run();
}

class ContainerJob {
  readonly #container: AttachedContainer;
  readonly #archive: JobArchive;
  readonly #limits: ResolvedLimits;
  readonly #options: SandboxRunOptions;
  readonly #context: ContainerJobContext;
  readonly #budget: OutputBudget;
  readonly #stdout: MarkedStream;
  readonly #stderr: MarkedStream;
  /** Largest output archive kept: its data cap plus room for headers (files and directories). */
  readonly #tarLimit: number;
  readonly #ended: Promise<JobEnd>;
  #finish: (end: JobEnd) => void = () => {};
  #finished = false;
  #stopping = false;
  // Each trailer head is parsed once; after that only byte counts are checked, so a large output archive is
  // concatenated once, not once per chunk.
  #head: StdoutTrailer | null | undefined;
  #summary: StderrSummary | null | undefined;

  constructor(
    container: AttachedContainer,
    archive: JobArchive,
    limits: ResolvedLimits,
    options: SandboxRunOptions,
    context: ContainerJobContext,
  ) {
    this.#container = container;
    this.#archive = archive;
    this.#limits = limits;
    this.#options = options;
    this.#context = context;
    this.#budget = new OutputBudget(limits.output_bytes, options.onOutput);
    this.#tarLimit = context.outputCaps.maxBytes + (context.outputCaps.maxFiles + 2) * 1024 + 4 * 1024 * 1024;
    this.#stdout = new MarkedStream(
      archive.nonce,
      (b) => this.#fromProgram('stdout', b),
      this.#tarLimit + 64,
    );
    this.#stderr = new MarkedStream(archive.nonce, (b) => this.#fromProgram('stderr', b), 1024);
    this.#ended = new Promise<JobEnd>((resolve) => {
      this.#finish = resolve;
    });
  }

  async run(): Promise<ExecutionResult> {
    const { signal } = this.#options;
    this.#container.listen((stream, payload) => {
      // Once the job is being stopped, whatever the dying program still writes is dropped.
      if (this.#finished || this.#stopping) return;
      (stream === 'stdout' ? this.#stdout : this.#stderr).push(payload);
      this.#checkMarkers();
    });
    void this.#container.ended.then(() => {
      if (this.#finished || this.#stopping) return;
      this.#stdout.end();
      this.#stderr.end();
      this.#done({ kind: 'ended' });
    });
    const onAbort = () => this.#stop('canceled', cancelReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    const startedAt = performance.now();
    const wallMs = this.#limits.wall_time_ms;
    const timer = setTimeout(() => this.#stop('timeout', `wall time limit of ${wallMs} ms exceeded`), wallMs);
    if (signal.aborted) onAbort();
    // A failed write shows up as the stream ending without markers.
    if (!this.#stopping) this.#container.write(this.#archive.archive).catch(() => {});
    try {
      const end = await this.#ended;
      return await judgeJob(end, {
        container: this.#container,
        budget: this.#budget,
        limits: this.#limits,
        wallMs: Math.round(performance.now() - startedAt),
        outputCaps: this.#context.outputCaps,
        dockerTimeoutMs: this.#context.dockerTimeoutMs,
        docker: this.#context.docker,
        runtime: this.#context.runtime,
      });
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }

  #fromProgram(stream: 'stdout' | 'stderr', bytes: Buffer): void {
    if (!this.#budget.add(stream, bytes)) {
      this.#stop('output_limit', `output exceeded the limit of ${this.#limits.output_bytes} bytes`);
    }
  }

  #checkMarkers(): void {
    if (this.#finished || this.#stopping) return;
    if (this.#head === undefined && this.#stdout.markerSeen)
      this.#head = parseStdoutTrailer(this.#stdout.trailer());
    if (this.#summary === undefined && this.#stderr.markerSeen) {
      this.#summary = parseStderrTrailer(this.#stderr.trailer());
    }
    const head = this.#head;
    const summary = this.#summary;
    if (head === null || summary === null) {
      this.#done({ kind: 'malformed' });
      return;
    }
    if (head === undefined || summary === undefined) return;
    if (this.#stdout.trailerBytesSeen < head.tarOffset + head.tarBytes) return;
    const tarDropped = head.tarBytes > this.#tarLimit;
    const tar = tarDropped
      ? Buffer.alloc(0)
      : this.#stdout.trailer().subarray(head.tarOffset, head.tarOffset + head.tarBytes);
    // The container exits right after the markers and its cgroup goes with it: read the peak at once.
    const memoryPeak = readMemoryPeak(this.#context.cgroupMemoryRoot, this.#container.id);
    this.#done({ kind: 'markers', summary, tar, tarDropped, memoryPeak });
  }

  /** Kills the whole container; the job ends with the given outcome. */
  #stop(outcome: StopOutcome, reason: string): void {
    if (this.#finished || this.#stopping) return;
    this.#stopping = true;
    // Read the peak while the cgroup still exists.
    const peak = readMemoryPeak(this.#context.cgroupMemoryRoot, this.#container.id);
    // No marker will come: bytes held back in case they began one were the program's.
    this.#stdout.end();
    this.#stderr.end();
    void this.#container.kill(this.#context.dockerTimeoutMs).then(async () => {
      this.#done({ kind: 'stopped', outcome, reason, memoryPeak: await peak });
    });
  }

  #done(end: JobEnd): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#finish(end);
  }
}
