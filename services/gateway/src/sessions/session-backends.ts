// Starts the session side of the configured backends — the isolate (JavaScript/TypeScript, no set-up), docker
// (runc) and gvisor (runsc) when dockerd, the runtimes and the images are there — and picks the backend for a
// session request. A backend that cannot start is left out (sessions on it answer backend_unavailable), never
// fatal.

import { fileURLToPath } from 'node:url';
import type { Config } from '@airlock/config';
import type { Logger } from '@airlock/logging';
import { AirlockError, type Backend, type BackendName, type SessionLanguage } from '@airlock/protocol';
import {
  CONTAINER_BACKENDS,
  CONTAINER_RUNTIMES,
  ContainerSessionBackend,
  IsolateSessionBackend,
  probeContainerBackends,
  type SessionBackend,
} from '@airlock/sandbox';
import Dockerode from 'dockerode';

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** Preference order for `backend: auto`, per session language. */
const AUTO_ORDER: Record<SessionLanguage, readonly BackendName[]> = {
  python: ['gvisor', 'docker'],
  javascript: ['isolate'],
  typescript: ['isolate'],
};

export class SessionBackends {
  readonly #backends = new Map<BackendName, SessionBackend>();

  constructor(backends: readonly SessionBackend[]) {
    for (const backend of backends) this.#backends.set(backend.backend, backend);
  }

  /** The concrete backend for a session, or AirlockError `backend_unavailable`. */
  resolve(language: SessionLanguage, requested: Backend, allowed?: readonly BackendName[]): SessionBackend {
    const candidates = (requested === 'auto' ? AUTO_ORDER[language] : [requested]).filter(
      (b) => allowed === undefined || allowed.includes(b),
    );
    for (const name of candidates) {
      const backend = this.#backends.get(name);
      if (backend?.languages.includes(language)) return backend;
    }
    throw new AirlockError(
      'backend_unavailable',
      `backend '${requested}' has no ${language} sessions on this server`,
      { field: 'backend' },
    );
  }

  /** Label values `airlock.instance` of the container session backends (for leftover checks). */
  instances(): string[] {
    return [...this.#backends.values()].flatMap((b) =>
      b instanceof ContainerSessionBackend ? [b.instance] : [],
    );
  }

  get(name: BackendName): SessionBackend | undefined {
    return this.#backends.get(name);
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#backends.values()].map((b) => b.close()));
  }
}

export async function startSessionBackends(
  config: Config,
  logger: Logger,
  extra: readonly SessionBackend[] = [],
): Promise<SessionBackends> {
  const started: SessionBackend[] = [...extra];
  if (config.AIRLOCK_BACKENDS.includes('isolate') && config.AIRLOCK_MAX_SESSIONS > 0) {
    // JavaScript/TypeScript sessions: one supervised isolate host process per session, started on open.
    started.push(
      new IsolateSessionBackend({
        readyTimeoutMs: config.AIRLOCK_SESSION_START_TIMEOUT_MS,
        memoryCgroup: config.AIRLOCK_ISOLATE_CGROUP,
        logger,
      }),
    );
  }
  const wanted = CONTAINER_BACKENDS.filter((b) => config.AIRLOCK_BACKENDS.includes(b));
  if (wanted.length > 0 && config.AIRLOCK_MAX_SESSIONS > 0) {
    const docker = new Dockerode({ socketPath: config.AIRLOCK_DOCKER_SOCKET });
    const probe = await probeContainerBackends(docker, REPO_ROOT);
    for (const backend of wanted) {
      if (!probe[backend].available || !probe.images) {
        logger.warn({ backend, reason: probe[backend].reason }, 'airlock: no sessions on this backend');
        continue;
      }
      started.push(
        new ContainerSessionBackend({
          docker,
          backend,
          runtime: CONTAINER_RUNTIMES[backend],
          images: probe.images,
          startTimeoutMs: config.AIRLOCK_SESSION_START_TIMEOUT_MS,
          logger,
        }),
      );
    }
  }
  return new SessionBackends(started);
}
