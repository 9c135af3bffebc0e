// The `docker` (runc) and `gvisor` (runsc) backends: every job runs in a fresh hardened container that is
// used once and removed. Jobs whose image and limits have a pool (pool-supply.ts) lease a warm container; others,
// and a job its pool cannot serve soon, take the cold path (create, attach, start now, ahead of refills in the
// Docker limiter). A job of a template with a compile step writes its runner two jobs, the compile and then the
// program (compile-step.ts).
// It must never throw from run(), reuse a container, or leave a container behind after close().

import { randomBytes } from 'node:crypto';
import {
  type BackendName,
  COMPILED_LANGUAGES,
  type ExecutionResult,
  emptyResult,
  type Language,
} from '@airlock/protocol';
import type Dockerode from 'dockerode';
import type { RuntimeInfo, Sandbox, SandboxJob, SandboxRunOptions } from '../sandbox.ts';
import { type TemplateProgram, TemplateRegistry } from '../templates/template-registry.ts';
import { type AttachedContainer, startContainer } from './attached-container.ts';
import { runCompileStep } from './compile-step.ts';
import { type ContainerJobContext, runContainerJob } from './container-job.ts';
import { ContainerRemovals } from './container-removals.ts';
import {
  type ContainerBackend,
  type ContainerProfile,
  type ContainerRuntime,
  containerSpec,
} from './container-spec.ts';
import { DOCKER_PRIORITY, DockerLimiter, type DockerPriority } from './docker-limiter.ts';
import { egressEnv } from './egress-env.ts';
import type { EgressNetwork } from './egress-network.ts';
import { IMAGE_NAMES, isBuiltinLanguage, LANGUAGE_PROGRAMS, type ResolvedImages } from './images.ts';
import { buildJobArchive, JobRefused, type OutputCaps } from './job-archive.ts';
import { DEFAULT_CGROUP_MEMORY_ROOT } from './memory-peak.ts';
import { type PoolSettings, PoolSupply } from './pool-supply.ts';
import { reapLeftovers } from './reaper.ts';
import type { WarmPool, WarmPoolStats } from './warm-pool.ts';

export interface ContainerLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface ContainerSandboxOptions {
  docker: Dockerode;
  runtime: ContainerRuntime;
  backend: ContainerBackend;
  /** From loadResolvedImages (or the probe). */
  images: ResolvedImages;
  /**
   * The templates jobs may name (their images must have passed their smoke check). @default the built-in
   * templates of `images`
   */
  templates?: TemplateRegistry;
  /** The warm pools (pool-supply.ts). */
  pool?: PoolSettings;
  /** Docker lifecycle calls (create, attach, start, remove) at once. @default 4 */
  dockerConcurrency?: number;
  /** Caps on the output files returned. @default { maxFiles: 256, maxBytes: 16 MiB } */
  outputs?: Partial<OutputCaps>;
  /** Where the memory cgroups of containers live (cgroup v1, cgroupfs). @default /sys/fs/cgroup/memory/docker */
  cgroupMemoryRoot?: string;
  /** Deadline of every single Docker call. @default 30000 */
  dockerTimeoutMs?: number;
  logger?: ContainerLogger;
  /**
   * The network jobs with `egress` join (this process's, or a standalone proxy's); without it such jobs are
   * rejected.
   */
  egress?: Pick<EgressNetwork, 'name' | 'sealDns'>;
}

export interface ContainerSandboxStats {
  pools: WarmPoolStats[];
  /** Jobs that leased a warm container. */
  warmLeases: number;
  /** Jobs that created their container on the spot. */
  coldStarts: number;
  removalsPending: number;
}

const BUILTIN_LANGUAGES = ['python', 'bash', 'javascript', 'typescript'] as const;
/** Every language: the compiled ones run only in a template that serves them. */
const LANGUAGES: readonly Language[] = [...BUILTIN_LANGUAGES, ...COMPILED_LANGUAGES];
/** The compile step's wall-clock limit when the job names none. */
const DEFAULT_COMPILE_WALL_MS = 30_000;

export class ContainerSandbox implements Sandbox {
  readonly backend: BackendName;
  readonly languages: readonly Language[] = LANGUAGES;
  /** Label value `airlock.instance` on every container of this sandbox. */
  readonly instance = randomBytes(6).toString('hex');
  readonly #options: ContainerSandboxOptions;
  readonly #supply: PoolSupply;
  readonly #limiter: DockerLimiter;
  readonly #removals: ContainerRemovals;
  readonly #closing = new AbortController();
  readonly #running = new Set<Promise<unknown>>();
  readonly #pooledProfile: ContainerProfile;
  readonly #caps: OutputCaps;
  readonly #templates: TemplateRegistry;
  #warmLeases = 0;
  #coldStarts = 0;
  #started = false;
  #unsubscribe: () => void = () => {};

  constructor(options: ContainerSandboxOptions) {
    this.#options = options;
    this.backend = options.backend;
    this.#pooledProfile = { memoryMb: options.pool?.memoryMb ?? 128 };
    this.#caps = { maxFiles: 256, maxBytes: 16 * 1024 * 1024, ...options.outputs };
    this.#limiter = new DockerLimiter(options.dockerConcurrency ?? 4);
    this.#removals = new ContainerRemovals({
      timeoutMs: this.#dockerTimeout,
      logger: options.logger,
      limiter: this.#limiter,
    });
    this.#supply = new PoolSupply({
      runtime: options.runtime,
      pooledProfile: this.#pooledProfile,
      max: options.pool?.max ?? 8,
      idleMs: options.pool?.idleMs ?? 30_000,
      onDemandPools: options.pool?.onDemandPools ?? 0,
      create: (image, profile) => this.#startWarm(image, profile),
      discard: (c, pool) => this.#discard(c, pool),
      logger: options.logger,
    });
    this.#templates = options.templates ?? TemplateRegistry.withBuiltins(options.images);
  }

  get #dockerTimeout(): number {
    return this.#options.dockerTimeoutMs ?? 30_000;
  }

  /** Starts filling the warm pools (in the background; see whenWarm). */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    const size = this.#options.pool?.size ?? 2;
    for (const name of IMAGE_NAMES) this.#supply.pool(this.#options.images[name].tag, size);
    for (const name of Object.keys(this.#options.pool?.templates ?? {})) this.#poolTemplate(name);
    // A template built (or rebuilt with a new hash) after start gets its pool; the old hash's pool drains.
    this.#unsubscribe = this.#templates.onChange((name, before) => {
      if (before?.tag && before.tag !== this.#templates.get(name)?.tag) this.#supply.drainImage(before.tag);
      this.#poolTemplate(name);
    });
    this.#options.logger?.info(
      {
        backend: this.backend,
        runtime: this.#options.runtime,
        poolSize: size,
        pooledMemoryMb: this.#pooledProfile.memoryMb,
      },
      'container sandbox started',
    );
  }

  #poolTemplate(name: string): void {
    const size = this.#options.pool?.templates?.[name] ?? 0;
    const entry = this.#templates.get(name);
    if (size <= 0 || entry?.builtin !== false || entry.state !== 'ready' || entry.tag === null) return;
    if (!this.#closing.signal.aborted) this.#supply.pool(entry.tag, size);
  }

  /** Whether containers of `image` need an exec /work: a template of it has a language with a compile step. */
  #execWork(image: string): boolean {
    return this.#templates
      .names()
      .map((name) => this.#templates.get(name))
      .some(
        (entry) =>
          entry?.tag === image && Object.values(entry.programs).some((p) => p?.compile !== undefined),
      );
  }

  /** Resolves when every warm pool is full (or the sandbox closes). */
  async whenWarm(): Promise<void> {
    await this.#supply.whenFull();
  }

  pools(): WarmPoolStats[] {
    return this.#supply.stats();
  }

  stats(): ContainerSandboxStats {
    return {
      pools: this.#supply.stats(),
      warmLeases: this.#warmLeases,
      coldStarts: this.#coldStarts,
      removalsPending: this.#removals.pending,
    };
  }

  runtimes(): RuntimeInfo[] {
    const available = !this.#closing.signal.aborted;
    return BUILTIN_LANGUAGES.map((language) => ({
      language,
      backend: this.backend,
      version: this.#options.images[LANGUAGE_PROGRAMS[language].image].version,
      available,
      ...(available ? {} : { reason: 'the sandbox is closed' }),
    }));
  }

  run(job: SandboxJob, options: SandboxRunOptions): Promise<ExecutionResult> {
    const running = this.#run(job, options).catch((error: unknown) =>
      emptyResult('internal_error', `container backend failed: ${messageOf(error)}`),
    );
    this.#running.add(running);
    void running.finally(() => this.#running.delete(running));
    return running;
  }

  async close(): Promise<void> {
    this.#closing.abort('the sandbox is shutting down');
    this.#unsubscribe();
    // Draining first stops refills that ending jobs would otherwise start.
    await Promise.all([this.#supply.drain(), Promise.allSettled([...this.#running])]);
    await this.#removals.settled();
    // Last sweep by this sandbox's own label: a container whose create was in flight while the pool drained
    // (or whose removal failed) must not outlive the service.
    await reapLeftovers(this.#options.docker, {
      labels: [`airlock.instance=${this.instance}`],
      includeLiveOwners: true,
    }).catch((err: unknown) => this.#options.logger?.warn({ err }, 'final container sweep failed'));
  }

  async #run(job: SandboxJob, options: SandboxRunOptions): Promise<ExecutionResult> {
    if (this.#closing.signal.aborted) return emptyResult('internal_error', 'the sandbox is closed');
    const signal = AbortSignal.any([options.signal, this.#closing.signal]);
    if (signal.aborted) return emptyResult('canceled', 'canceled before it started');
    // A job with egress takes the cold path onto the egress network; the proxy variables join its env.
    if (job.egress && !this.#options.egress) {
      return emptyResult('rejected', 'network egress is not available on this server');
    }
    const archiveJob = job.egress ? { ...job, env: { ...job.env, ...egressEnv(job.egress) } } : job;
    const program = this.#programOf(job);
    if (typeof program === 'string') return emptyResult('rejected', program);
    let archive: Awaited<ReturnType<typeof buildJobArchive>>;
    let compileArchive: Awaited<ReturnType<typeof buildJobArchive>> | undefined;
    const compileWallMs = job.compileWallTimeMs ?? DEFAULT_COMPILE_WALL_MS;
    try {
      if (program.compile) {
        // The compile job carries the code and files; the program's job then only its argv, stdin and limits.
        const limits = { ...job.limits, wall_time_ms: compileWallMs, cpu_time_ms: compileWallMs };
        compileArchive = await buildJobArchive(
          { ...archiveJob, args: [], stdin: '', limits },
          this.#caps,
          { file: program.file, argv: program.compile, workdir: program.workdir },
          { next: true },
        );
      }
      archive = await buildJobArchive(archiveJob, this.#caps, program, {
        withWork: compileArchive === undefined,
      });
    } catch (error) {
      if (error instanceof JobRefused) return emptyResult('rejected', error.message);
      throw error;
    }
    const image = program.image;
    const profile = { memoryMb: job.limits.memory_mb };
    const pool = job.egress ? undefined : this.#supply.forJob(image, profile);
    let container = await pool?.lease(signal);
    if (!container && signal.aborted) return emptyResult('canceled', 'canceled before it started');
    if (container) {
      this.#warmLeases++;
    } else {
      this.#coldStarts++;
      try {
        const began = performance.now();
        container = await this.#startContainer(image, profile, job.executionId, job.egress !== undefined);
        pool?.observeCold(performance.now() - began);
        if (job.egress) await this.#sealDns(container);
      } catch (error) {
        return emptyResult('internal_error', `could not start a sandbox container: ${messageOf(error)}`);
      }
    }
    this.#options.logger?.debug(
      { executionId: job.executionId, container: container.id, backend: this.backend },
      'container job started',
    );
    const context: ContainerJobContext = {
      docker: this.#options.docker,
      cgroupMemoryRoot: this.#options.cgroupMemoryRoot ?? DEFAULT_CGROUP_MEMORY_ROOT,
      outputCaps: this.#caps,
      dockerTimeoutMs: this.#dockerTimeout,
      runtime: this.#options.runtime,
    };
    try {
      if (compileArchive === undefined) {
        const result = await runContainerJob(
          container,
          { archive, limits: job.limits },
          { ...options, signal },
          context,
        );
        return job.template === undefined && isBuiltinLanguage(job.language)
          ? result
          : { ...result, compile: null };
      }
      const compileLimits = { ...job.limits, wall_time_ms: compileWallMs, cpu_time_ms: compileWallMs };
      const compiled = await runCompileStep(
        container,
        { archive: compileArchive, limits: compileLimits },
        { signal },
        context,
      );
      if (compiled.result) return compiled.result;
      const result = await runContainerJob(
        container,
        { archive, limits: job.limits },
        { ...options, signal },
        context,
      );
      return { ...result, compile: compiled.compile };
    } finally {
      this.#discard(container, pool);
      pool?.refill();
    }
  }

  /** The job's program: its template's, or its language's default image's; a string says why there is none. */
  #programOf(job: SandboxJob): TemplateProgram | string {
    if (job.template === undefined && isBuiltinLanguage(job.language)) {
      const program = LANGUAGE_PROGRAMS[job.language];
      return { image: this.#options.images[program.image].tag, file: program.file, argv: program.argv };
    }
    const found = this.#templates.lookup(job.template, job.language);
    return found.ok ? found.program : found.message;
  }

  /** A container for the pool, ready once started; refills yield to cold starts in the Docker limiter. */
  #startWarm(image: string, profile: ContainerProfile): Promise<AttachedContainer> {
    return this.#startContainer(image, profile, undefined, false, DOCKER_PRIORITY.refill);
  }

  #startContainer(
    image: string,
    profile: ContainerProfile,
    executionId?: string,
    egress = false,
    priority: DockerPriority = DOCKER_PRIORITY.coldStart,
  ): Promise<AttachedContainer> {
    const spec = containerSpec({
      image,
      execWork: this.#execWork(image),
      runtime: this.#options.runtime,
      backend: this.#options.backend,
      profile,
      instance: this.instance,
      ...(executionId === undefined ? {} : { executionId }),
      ...(egress && this.#options.egress ? { egressNetwork: this.#options.egress.name } : {}),
    });
    return startContainer({
      docker: this.#options.docker,
      spec,
      timeoutMs: this.#dockerTimeout,
      discard: (c) => this.#removals.remove(c),
      limit: (call) => this.#limiter.run(priority, call),
    });
  }

  /** No resolver inside a container on the egress network; one that cannot be sealed is not used. */
  async #sealDns(container: AttachedContainer): Promise<void> {
    try {
      await this.#options.egress?.sealDns(container.id);
    } catch (error) {
      this.#discard(container);
      throw error;
    }
  }

  /** Removes a container off the critical path; the pool it came from learns how long that took. */
  #discard(container: AttachedContainer, pool?: WarmPool): void {
    this.#removals.remove(container.container, pool && ((ms) => pool.observeTeardown(ms)));
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
