// Starts the configured sandbox backends (embedded gateway and worker processes alike): the isolate always,
// docker (runc) and gvisor (runsc) when dockerd, the runtimes and the images are there. A container backend
// that cannot start is reported with its reason (in the log and in /v1/runtimes), never fatal: the service then
// runs isolate-only.

import { fileURLToPath } from 'node:url';
import type { Config } from '@airlock/config';
import type { Logger } from '@airlock/logging';
import { LANGUAGES, type Language } from '@airlock/protocol';
import {
  CONTAINER_BACKENDS,
  CONTAINER_RUNTIMES,
  type ContainerBackend,
  ContainerSandbox,
  type EgressNetwork,
  IsolateSandbox,
  LeftoverReaper,
  probeContainerBackends,
  type RuntimeInfo,
  type Sandbox,
  type TemplateRegistry,
} from '@airlock/sandbox';
import Dockerode from 'dockerode';
import { SandboxRegistry } from './backends.ts';
import { startTemplates } from './template-setup.ts';

/** The checkout's root, where sandbox-images/.built/images.json is written by scripts/build-images.sh. */
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CONTAINER_LANGUAGES: readonly Language[] = LANGUAGES;

function unavailable(backend: ContainerBackend, reason: string): RuntimeInfo[] {
  return CONTAINER_LANGUAGES.map((language) => ({
    language,
    backend,
    version: 'unknown',
    available: false,
    reason,
  }));
}

export async function startSandboxes(
  config: Config,
  logger: Logger,
  /** The network container runs with egress join. */
  egress?: Pick<EgressNetwork, 'name' | 'sealDns'>,
): Promise<SandboxRegistry> {
  const started: Sandbox[] = [];
  const missing: RuntimeInfo[] = [];
  let reaper: LeftoverReaper | undefined;
  let templates: TemplateRegistry | undefined;
  try {
    if (config.AIRLOCK_BACKENDS.includes('isolate')) {
      const isolate = new IsolateSandbox({
        hosts: config.AIRLOCK_ISOLATE_HOSTS,
        maxJobsPerHost: config.AIRLOCK_ISOLATE_JOBS_PER_HOST,
        readyTimeoutMs: config.AIRLOCK_ISOLATE_START_TIMEOUT_MS,
        defaultMemoryMb: config.AIRLOCK_DEFAULT_MEMORY_MB,
        memoryCgroup: config.AIRLOCK_ISOLATE_CGROUP,
        logger,
      });
      started.push(isolate);
      await isolate.start();
    }
    const wanted = CONTAINER_BACKENDS.filter((b) => config.AIRLOCK_BACKENDS.includes(b));
    if (wanted.length > 0) {
      const docker = new Dockerode({ socketPath: config.AIRLOCK_DOCKER_SOCKET });
      const probe = await probeContainerBackends(docker, REPO_ROOT);
      if (wanted.some((b) => probe[b].available)) {
        reaper = new LeftoverReaper({
          docker,
          intervalMs: config.AIRLOCK_REAPER_INTERVAL_SECONDS * 1000,
          logger,
        });
        await reaper.start();
      }
      if (probe.images && wanted.some((b) => probe[b].available)) {
        templates = (await startTemplates(config, logger, docker, probe.images, REPO_ROOT)).registry;
      }
      for (const backend of wanted) {
        const availability = probe[backend];
        if (!availability.available || !probe.images) {
          const reason = availability.reason ?? 'images are missing';
          logger.warn({ backend, reason }, 'airlock: container backend unavailable');
          missing.push(...unavailable(backend, reason));
          continue;
        }
        const sandbox = new ContainerSandbox({
          docker,
          backend,
          runtime: CONTAINER_RUNTIMES[backend],
          images: probe.images,
          ...(templates ? { templates } : {}),
          pool: {
            size: config.AIRLOCK_POOL_SIZE,
            max: config.AIRLOCK_POOL_MAX,
            idleMs: config.AIRLOCK_POOL_IDLE_SECONDS * 1000,
            onDemandPools: config.AIRLOCK_POOL_PROFILES,
            memoryMb: config.AIRLOCK_DEFAULT_MEMORY_MB,
            templates: config.AIRLOCK_TEMPLATE_POOLS,
          },
          dockerConcurrency: config.AIRLOCK_DOCKER_CONCURRENCY,
          logger,
          ...(egress ? { egress } : {}),
        });
        started.push(sandbox);
        await sandbox.start();
      }
    }
  } catch (error) {
    await Promise.allSettled([...started.map((s) => s.close()), reaper?.close()]);
    throw error;
  }
  return new SandboxRegistry(started, missing, reaper ? [reaper] : [], templates);
}
