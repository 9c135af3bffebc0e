// The hardened create options of one sandbox container (SECURITY.md "Containers", sandbox-images/CONTRACT.md
// "How the backend starts a container"). Every container Airlock creates is built here and only here.
// It must never add a host path, a device, a capability, a network (but the egress network), the Docker socket,
// or anything from the service's own environment.

import { BACKEND_NAMES, type BackendName } from '@airlock/protocol';
import type Dockerode from 'dockerode';
import { GVISOR_SECCOMP_OPT } from './gvisor-seccomp.ts';
import { ownerLabel } from './owner.ts';
import {
  CHECKPOINT_HEADROOM_MB,
  RESTORE_FOLDER,
  RESTORE_IMAGE_ENV,
  RESTORE_RUNTIME,
} from './session/runsc-checkpoint.ts';

export type ContainerRuntime = 'runc' | 'runsc';

/** The backends that run jobs in containers. */
export type ContainerBackend = Exclude<BackendName, 'isolate'>;
export const CONTAINER_BACKENDS = BACKEND_NAMES.filter((b): b is ContainerBackend => b !== 'isolate');
/** The OCI runtime each container backend uses. */
export const CONTAINER_RUNTIMES: Readonly<Record<ContainerBackend, ContainerRuntime>> = {
  docker: 'runc',
  gvisor: 'runsc',
};

/** The limits a container is created with; a warm container can serve only jobs of its own profile. */
export interface ContainerProfile {
  memoryMb: number;
}

export interface ContainerSpecInput {
  image: string;
  runtime: ContainerRuntime;
  backend: ContainerBackend;
  profile: ContainerProfile;
  /** Identifies the ContainerSandbox that owns the container (`airlock.instance`). */
  instance: string;
  /** Set on the cold path, where the job is known before the container exists. */
  executionId?: string;
  /** A session container (`airlock.session`): runs `command` instead of the image's runner. */
  session?: { id: string; command: string[] };
  /** The egress network to join instead of `none` (gVisor then uses runtime runsc-net). */
  egressNetwork?: string;
  /** A gVisor session container restored from the checkpoint in this folder (runtime runsc-restore). */
  restoreFrom?: string;
  /**
   * A template with a compile step: /work is mounted `exec` (the compiled program runs from there); /tmp
   * and everything else stay as they are.
   */
  execWork?: boolean;
}

const MIB = 1024 * 1024;
export const WORK_TMPFS_MB = 64;

/** The uid:gid every sandbox process runs as (also what `docker exec` into a session container uses). */
export const SANDBOX_USER = '65534:65534';
export const TMP_TMPFS_MB = 16;
/** Largest file a program may write (RLIMIT_FSIZE): as large as the work folder itself. */
const FSIZE_BYTES = WORK_TMPFS_MB * MIB;

/**
 * The fork limit of one sandbox.
 * - runc: the pids cgroup of the container. Not RLIMIT_NPROC: the host kernel counts that per uid across
 *   every container (all sandboxes run as 65534), so one job's processes would make fork() fail in all the
 *   others (measured: 8 jobs of 12 processes each under nproc=64 broke six of them, tini included).
 * - runsc: RLIMIT_NPROC, which the sandbox kernel counts per sandbox. The host pids limit only bounds
 *   gVisor's own threads and stubs; a tight one kills the whole sandbox instead of failing fork() (HOST.md).
 *   A fork bomb at nproc 64 was measured at 830–900 host tasks at its peak (ptrace platform: stub processes
 *   and sentry threads), close enough to 1024 to kill the sandbox in about one run of three.
 */
const PIDS_LIMIT: Record<ContainerRuntime, number> = { runc: 128, runsc: 2048 };
const NPROC_LIMIT: Record<ContainerRuntime, number | null> = { runc: null, runsc: 64 };

export function profileKey(image: string, runtime: ContainerRuntime, profile: ContainerProfile): string {
  return `${image}|${runtime}|mem=${profile.memoryMb}`;
}

export function containerSpec(input: ContainerSpecInput): Dockerode.ContainerCreateOptions {
  const headroom = input.restoreFrom === undefined ? 0 : CHECKPOINT_HEADROOM_MB;
  const memory = (input.profile.memoryMb + headroom) * MIB;
  const nproc = NPROC_LIMIT[input.runtime];
  const tmpfsOptions = (mb: number, exec = false) =>
    `rw,size=${mb}m,mode=1777,${exec ? 'exec' : 'noexec'},nosuid,nodev`;
  const labels: Record<string, string> = {
    airlock: '1',
    'airlock.backend': input.backend,
    'airlock.pool': profileKey(input.image, input.runtime, input.profile),
    'airlock.instance': input.instance,
    'airlock.owner': ownerLabel(),
  };
  if (input.executionId !== undefined) labels['airlock.execution'] = input.executionId;
  if (input.session !== undefined) labels['airlock.session'] = input.session.id;
  const restore = input.restoreFrom;
  if (
    restore !== undefined &&
    (input.runtime !== 'runsc' || input.egressNetwork !== undefined || !RESTORE_FOLDER.test(restore))
  ) {
    throw new Error('only a gVisor container without network is restored, from an absolute plain folder');
  }
  return {
    Image: input.image,
    ...(input.session === undefined ? {} : { Cmd: input.session.command }),
    // The image's CMD is the runner; its ENV (PATH, HOME, LANG) is all the environment the program gets. A
    // restored container's processes keep the environment of their checkpoint: the variable is the runtime's.
    ...(restore === undefined ? {} : { Env: [`${RESTORE_IMAGE_ENV}=${restore}`] }),
    User: SANDBOX_USER,
    WorkingDir: '/work',
    Hostname: 'sandbox',
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    OpenStdin: true,
    StdinOnce: true,
    Tty: false,
    // With networking disabled Docker mounts no resolv.conf of its own (on network "none" alone it mounts one
    // naming the host's resolver): the image's empty /etc/resolv.conf stays, so there is no resolver at all.
    NetworkDisabled: input.egressNetwork === undefined, // on the egress network: see EgressNetwork.sealDns
    Labels: labels,
    HostConfig: {
      // runsc-net is runsc with --network=host, i.e. the container's own namespace.
      Runtime:
        restore !== undefined
          ? RESTORE_RUNTIME
          : input.egressNetwork !== undefined && input.runtime === 'runsc'
            ? 'runsc-net'
            : input.runtime,
      NetworkMode: input.egressNetwork ?? 'none',
      ReadonlyRootfs: true,
      CapDrop: ['ALL'],
      SecurityOpt:
        input.backend === 'gvisor' ? ['no-new-privileges', GVISOR_SECCOMP_OPT] : ['no-new-privileges'],
      Privileged: false,
      // No docker-init: the runner is pid 1 (it reaps orphans and kills leftovers). docker-init runs as the job's
      // uid and is dumpable, so a job could ptrace it; the runner is not dumpable (SECURITY.md class 17).
      Init: false,
      IpcMode: 'private',
      Memory: memory,
      MemorySwap: memory,
      NanoCpus: 1_000_000_000,
      PidsLimit: PIDS_LIMIT[input.runtime],
      Ulimits: [
        ...(nproc === null ? [] : [{ Name: 'nproc', Soft: nproc, Hard: nproc }]),
        { Name: 'nofile', Soft: 256, Hard: 256 },
        { Name: 'fsize', Soft: FSIZE_BYTES, Hard: FSIZE_BYTES },
        { Name: 'core', Soft: 0, Hard: 0 },
      ],
      Tmpfs: {
        '/work': tmpfsOptions(WORK_TMPFS_MB, input.execWork === true),
        '/tmp': tmpfsOptions(TMP_TMPFS_MB),
      },
      Binds: [],
      Mounts: [],
      Devices: [],
      // Output reaches Airlock over the attach stream only; dockerd keeps no copy of it on disk.
      LogConfig: { Type: 'none', Config: {} },
      AutoRemove: false,
      RestartPolicy: { Name: 'no' },
    },
  };
}
