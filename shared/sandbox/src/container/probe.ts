// Start-up check of the container backends: does dockerd answer, are the runc and runsc runtimes registered,
// are the sandbox images there with the contract this backend speaks. The service uses the answer to start
// with the isolate backend only and to say why. It must never start, build or pull anything.

import type Dockerode from 'dockerode';
import { errorMessage, loadResolvedImages, type ResolvedImages } from './images.ts';

export interface BackendAvailability {
  available: boolean;
  /** Why the backend is unavailable, when it is. */
  reason?: string;
}

export interface ContainerProbe {
  docker: BackendAvailability;
  gvisor: BackendAvailability;
  /** The checked images (with versions), when they are usable. */
  images: ResolvedImages | null;
}

const SETUP_HINT = 'run scripts/setup-host.sh (as root)';

/** Answers within timeoutMs even when dockerd hangs. */
export async function probeContainerBackends(
  docker: Dockerode,
  repoRoot: string,
  timeoutMs = 10_000,
): Promise<ContainerProbe> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<ContainerProbe>((resolve) => {
    timer = setTimeout(() => {
      const reason = `dockerd did not answer within ${timeoutMs} ms; ${SETUP_HINT}`;
      resolve(unavailable(reason, reason));
    }, timeoutMs);
  });
  try {
    return await Promise.race([probe(docker, repoRoot), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function probe(docker: Dockerode, repoRoot: string): Promise<ContainerProbe> {
  let runtimes: string[];
  try {
    await docker.ping();
    const info = (await docker.info()) as { Runtimes?: Record<string, unknown> };
    runtimes = Object.keys(info.Runtimes ?? {});
  } catch (error) {
    const reason = `dockerd is not answering (${errorMessage(error)}); ${SETUP_HINT}`;
    return unavailable(reason, reason);
  }
  let images: ResolvedImages;
  try {
    images = await loadResolvedImages(repoRoot, docker);
  } catch (error) {
    const reason = errorMessage(error);
    return unavailable(reason, reason);
  }
  const missing = (name: string): BackendAvailability => ({
    available: false,
    reason: `the ${name} runtime is not registered with dockerd (has: ${runtimes.join(', ') || 'none'}); ${SETUP_HINT}`,
  });
  const runc = runtimes.includes('runc') ? { available: true } : missing('runc');
  const gvisor = runtimes.includes('runsc') ? { available: true } : missing('runsc');
  return { docker: runc, gvisor, images: runc.available || gvisor.available ? images : null };
}

function unavailable(dockerReason: string, gvisorReason: string): ContainerProbe {
  return {
    docker: { available: false, reason: dockerReason },
    gvisor: { available: false, reason: gvisorReason },
    images: null,
  };
}
