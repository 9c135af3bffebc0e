// The SessionBackend of the `docker` (runc) and `gvisor` (runsc) backends: opens each python session in a session
// container of its own (its lease: container-session-lease.ts), from the python image or the image of the
// template the session names (only once that template is ready and serves python) — on gVisor restored from the
// image's ready-made kernel where there is one (ready-kernel-images.ts) — and destroys them all on close(). Containers carry
// the usual Airlock labels plus `airlock.session`, so the start-up reaper removes what a crashed service left. It
// must never leave a container behind after close(), nor open a session once closing has begun.

import { randomBytes } from 'node:crypto';
import { AirlockError, type BackendName, type Language } from '@airlock/protocol';
import type Dockerode from 'dockerode';
import { OpenSessions } from '../../open-sessions.ts';
import type { SessionBackend, SessionImage, SessionLease, SessionSpec } from '../../sandbox.ts';
import { noTemplates, type TemplateRegistry } from '../../templates/template-registry.ts';
import { ContainerRemovals } from '../container-removals.ts';
import type { ContainerBackend, ContainerRuntime } from '../container-spec.ts';
import type { ResolvedImages } from '../images.ts';
import { DEFAULT_CGROUP_MEMORY_ROOT } from '../memory-peak.ts';
import { reapLeftovers } from '../reaper.ts';
import { DEFAULT_CGROUP_CPU_ROOT } from './cgroup-cpu.ts';
import type { ContainerSessionContext } from './container-session-context.ts';
import type { ContainerSessionLease } from './container-session-lease.ts';
import { makeReadyKernel } from './make-ready-kernel.ts';
import { openContainerSession } from './open-container-session.ts';
import { ReadyKernelImages } from './ready-kernel-images.ts';
import {
  DEFAULT_RUNSC_CHECKPOINT,
  type RunscCheckpointOptions,
  restoreUnavailable,
} from './runsc-checkpoint.ts';

export interface ContainerSessionBackendOptions {
  docker: Dockerode;
  runtime: ContainerRuntime;
  backend: ContainerBackend;
  images: ResolvedImages;
  /** The templates a session may start from (`template` of the request). @default none */
  templates?: TemplateRegistry | undefined;
  /** Deadline of every single Docker call. @default 30000 */
  dockerTimeoutMs?: number;
  /** How long a new session's kernel may take to start. @default 60000 */
  startTimeoutMs?: number;
  /** How long an interrupted cell may take to stop before its session is killed. @default 2000 */
  interruptGraceMs?: number;
  /** @default /sys/fs/cgroup/memory/docker */
  cgroupMemoryRoot?: string;
  /** @default /sys/fs/cgroup/cpuacct/docker */
  cgroupCpuRoot?: string;
  logger?: { warn(obj: object, msg: string): void };
  /** How runsc is called to checkpoint a gVisor session. @default DEFAULT_RUNSC_CHECKPOINT */
  checkpoint?: RunscCheckpointOptions;
  /**
   * Where ready-made kernel images are kept (`<data dir>/session-ready`): sessions then start from one where
   * runsc can checkpoint and restore (ready-kernel-images.ts). @default none: every session boots
   */
  readyImagesFolder?: string | undefined;
}

const LANGUAGES: readonly Language[] = ['python'];

export class ContainerSessionBackend implements SessionBackend {
  readonly backend: BackendName;
  readonly languages = LANGUAGES;
  /** Label value `airlock.instance` on every session container of this backend. */
  readonly instance = randomBytes(6).toString('hex');
  readonly #options: ContainerSessionBackendOptions;
  readonly #removals: ContainerRemovals;
  readonly #sessions = new OpenSessions<ContainerSessionLease>();
  readonly #ready: ReadyKernelImages | undefined;
  /** Why sessions cannot be restored here (for ready-made images; kept once null), or null. */
  #restorable: Promise<string | null> | undefined;

  constructor(options: ContainerSessionBackendOptions) {
    this.#options = options;
    this.backend = options.backend;
    this.#ready =
      options.readyImagesFolder !== undefined && options.runtime === 'runsc'
        ? new ReadyKernelImages({ root: options.readyImagesFolder, logger: options.logger })
        : undefined;
    this.#removals = new ContainerRemovals({
      timeoutMs: options.dockerTimeoutMs ?? 30_000,
      logger: options.logger,
    });
  }

  async open(spec: SessionSpec): Promise<SessionLease> {
    this.#checkLanguage(spec);
    return this.#sessions.add(this.#openReadyOrBoot(spec, this.#context(spec)));
  }

  /** The session restored from its image's ready-made kernel where there is one (verified), else booted. */
  async #openReadyOrBoot(
    spec: SessionSpec,
    context: ContainerSessionContext,
  ): Promise<ContainerSessionLease> {
    const ready = this.#ready;
    if (ready !== undefined && (await this.#canRestore())) {
      const key = { image: context.image, runtime: context.runtime, memoryMb: spec.limits.memory_mb };
      const image = await ready.take(key, makeReadyKernel(context, spec.limits));
      if (image !== undefined) {
        try {
          return await openContainerSession(spec, context, { image, rekey: true });
        } catch (error) {
          this.#sessions.checkOpen();
          await ready.drop(key, error instanceof Error ? error.message : String(error));
        }
      }
    }
    return openContainerSession(spec, context);
  }

  /** Whether sessions can be restored here; a yes is kept, a no is asked again at the next session. */
  async #canRestore(): Promise<boolean> {
    this.#restorable ??= this.snapshotUnsupported();
    const why = await this.#restorable;
    if (why !== null) this.#restorable = undefined;
    return why === null;
  }

  async snapshotUnsupported(): Promise<string | null> {
    if (this.#options.runtime !== 'runsc') {
      return `${this.backend} (runc) sessions cannot be snapshotted here: runc checkpoints need CRIU, which this server does not use`;
    }
    if (process.getuid?.() !== 0) return 'gVisor snapshots need the server to run as root (it calls runsc)';
    const missing = await restoreUnavailable(this.#options.docker);
    return missing === null ? null : `gVisor sessions cannot be restored here: ${missing}`;
  }

  async restore(spec: SessionSpec, image: SessionImage): Promise<SessionLease> {
    this.#checkLanguage(spec);
    const why = await this.snapshotUnsupported();
    if (why !== null) throw new AirlockError('snapshot_unsupported', why);
    return this.#sessions.add(openContainerSession(spec, this.#context(spec), { image, rekey: false }));
  }

  #checkLanguage(spec: SessionSpec): void {
    this.#sessions.checkOpen();
    if (!LANGUAGES.includes(spec.language)) {
      throw new AirlockError(
        'backend_unavailable',
        `the ${this.backend} backend has no ${spec.language} sessions`,
        { field: 'language' },
      );
    }
  }

  #context(spec: SessionSpec): ContainerSessionContext {
    const program = this.#programOf(spec);
    return {
      docker: this.#options.docker,
      image: program.image,
      workdir: program.workdir,
      runtime: this.#options.runtime,
      backend: this.#options.backend,
      instance: this.instance,
      removals: this.#removals,
      cgroupMemoryRoot: this.#options.cgroupMemoryRoot ?? DEFAULT_CGROUP_MEMORY_ROOT,
      cgroupCpuRoot: this.#options.cgroupCpuRoot ?? DEFAULT_CGROUP_CPU_ROOT,
      dockerTimeoutMs: this.#options.dockerTimeoutMs ?? 30_000,
      startTimeoutMs: this.#options.startTimeoutMs ?? 60_000,
      interruptGraceMs: this.#options.interruptGraceMs ?? 2_000,
      logger: this.#options.logger,
      checkpoint:
        this.#options.runtime === 'runsc'
          ? (this.#options.checkpoint ?? DEFAULT_RUNSC_CHECKPOINT)
          : undefined,
    };
  }

  /**
   * The template's image and workdir (a 400/503 AirlockError until it can serve the language), or the python
   * image in /work.
   */
  #programOf(spec: SessionSpec): { image: string; workdir?: string | undefined } {
    if (spec.template === undefined) return { image: this.#options.images.python.tag };
    if (this.#options.templates === undefined) throw noTemplates(spec.template);
    return this.#options.templates.require(spec.template, spec.language);
  }

  get openCount(): number {
    return this.#sessions.size;
  }

  async close(): Promise<void> {
    await Promise.all([this.#ready?.close(), this.#sessions.close()]);
    await this.#removals.settled();
    await reapLeftovers(this.#options.docker, {
      labels: [`airlock.instance=${this.instance}`],
      includeLiveOwners: true,
    }).catch((err: unknown) => this.#options.logger?.warn({ err }, 'final session container sweep failed'));
  }
}
