// Checkpoint and restore of a gVisor (runsc) session container. Checkpoint asks runsc itself for the image of a
// running container (its memory, and so the working folder, a tmpfs of the sandbox kernel); the container then
// exits. Restore is a new container created with the `runsc-restore` runtime (scripts/runsc-restore, registered
// in daemon.json by setup-host.sh), which turns that container's create into `runsc restore` from the folder its
// spec names, so the restored container is labelled, hardened, attached and reaped like any other. It must never
// restore a container with any other runtime, nor checkpoint a container that is not this server's.

import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type Dockerode from 'dockerode';
import { withDeadline } from '../attached-container.ts';

/** The runtime that restores a container from a checkpoint (scripts/runsc-restore). */
export const RESTORE_RUNTIME = 'runsc-restore';
/** The variable of a container's spec naming the checkpoint folder it is restored from (read by the runtime). */
export const RESTORE_IMAGE_ENV = 'AIRLOCK_RESTORE_IMAGE';
/** The name of the image file runsc writes into the checkpoint folder. */
export const CHECKPOINT_FILE = 'checkpoint.img';
/**
 * Memory the gVisor sentry needs beside the guest's while it saves or loads an image: a restored sentry keeps
 * ~55 MB more heap than a fresh one (measured with numpy and pandas loaded), and saving needs buffers on top.
 * Without it the memory cgroup kills the sandbox mid-save or mid-restore. Restored containers carry it, and a
 * container gets it just before its checkpoint.
 */
export const CHECKPOINT_HEADROOM_MB = 128;
/** Folders a restore may name: absolute, without `..`, of the characters the runtime accepts. */
export const RESTORE_FOLDER = /^\/(?!.*\/\.\.?(\/|$))[A-Za-z0-9/._+-]+$/;

export interface RunscCheckpointOptions {
  /** @default /usr/bin/runsc */
  runsc: string;
  /** The runsc state folder of Docker's containers (the runc v2 shim's). @default /var/run/docker/runtime-runc/moby */
  root: string;
  /** runsc's global flags, as the runtime runs it. @default ['--platform=ptrace'] */
  args: readonly string[];
}

export const DEFAULT_RUNSC_CHECKPOINT: RunscCheckpointOptions = {
  runsc: '/usr/bin/runsc',
  root: '/var/run/docker/runtime-runc/moby',
  args: ['--platform=ptrace'],
};

/** Writes the image of the running container into `folder` (which exists); the container exits after it. */
export function checkpointContainer(
  containerId: string,
  folder: string,
  options: RunscCheckpointOptions,
  timeoutMs: number,
): Promise<void> {
  if (!/^[0-9a-f]{64}$/.test(containerId)) throw new Error(`not a container id: ${containerId.slice(0, 80)}`);
  const args = [`--root=${options.root}`, ...options.args, 'checkpoint', '--image-path', folder, containerId];
  return new Promise((resolve, reject) => {
    execFile(options.runsc, args, { timeout: timeoutMs }, (error, _stdout, stderr) => {
      if (error)
        reject(new Error(`runsc checkpoint failed: ${(stderr || error.message).trim().slice(-400)}`));
      else resolve();
    });
  });
}

/** Why this dockerd cannot restore gVisor containers, or null when it can. */
export async function restoreUnavailable(docker: Dockerode): Promise<string | null> {
  try {
    const info = (await docker.info()) as { Runtimes?: Record<string, unknown> };
    if (info.Runtimes?.[RESTORE_RUNTIME] === undefined) {
      return `dockerd has no runtime ${RESTORE_RUNTIME} (register it with scripts/setup-host.sh)`;
    }
    return null;
  } catch (error) {
    return `dockerd did not answer: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/**
 * The sentry's save needs memory beside the guest's (CHECKPOINT_HEADROOM_MB); a restored container has it
 * already. Written to the container's memory cgroup directly: runsc has no `update`, so dockerd cannot.
 */
export async function makeRoomToSave(
  container: { id: string; container: Dockerode.Container },
  context: { dockerTimeoutMs: number; cgroupMemoryRoot: string },
): Promise<void> {
  const { dockerTimeoutMs, cgroupMemoryRoot } = context;
  const info = await withDeadline(container.container.inspect(), dockerTimeoutMs, 'inspect');
  if (info.HostConfig.Runtime === RESTORE_RUNTIME) return;
  const folder = join(cgroupMemoryRoot, container.id);
  const limit = Number((await readFile(join(folder, 'memory.limit_in_bytes'), 'utf8')).trim());
  const raised = String(limit + CHECKPOINT_HEADROOM_MB * 1024 * 1024);
  // memory+swap first: it may never be below the memory limit.
  await writeFile(join(folder, 'memory.memsw.limit_in_bytes'), raised).catch(() => {});
  await writeFile(join(folder, 'memory.limit_in_bytes'), raised);
}
