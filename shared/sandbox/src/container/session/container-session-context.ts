// What a python session container's lease needs from its backend (the Docker client, image, runtime, labels,
// cgroup roots, deadlines), and the kernel's command. Built once per session by ContainerSessionBackend; it holds
// nothing of any one session, so it must never carry a session's key or state.

import type Dockerode from 'dockerode';
import type { ContainerRemovals } from '../container-removals.ts';
import type { ContainerBackend, ContainerRuntime } from '../container-spec.ts';
import type { RunscCheckpointOptions } from './runsc-checkpoint.ts';

export const KERNEL_COMMAND = ['python3', '-I', '-u', '/opt/airlock/kernel.py'];

/** The reason of a cell ended by a broken protocol (the detail goes to the log, not to the caller). */
export const PROTOCOL_VIOLATED = 'session protocol violated';

export interface ContainerSessionContext {
  docker: Dockerode;
  /** The python image tag (or the template's). */
  image: string;
  /** The folder cells run in: a template's `workdir` under /work; absent, /work. */
  workdir?: string | undefined;
  runtime: ContainerRuntime;
  backend: ContainerBackend;
  /** Label `airlock.instance` of the owning ContainerSessionBackend. */
  instance: string;
  removals: ContainerRemovals;
  cgroupMemoryRoot: string;
  cgroupCpuRoot: string;
  dockerTimeoutMs: number;
  /** How long the kernel may take to come up. */
  startTimeoutMs: number;
  /** How long an interrupted cell may take to answer before the session is killed. */
  interruptGraceMs: number;
  logger?: { warn(obj: object, msg: string): void } | undefined;
  /** How runsc is called to checkpoint a session container (gvisor only). */
  checkpoint?: RunscCheckpointOptions | undefined;
}
