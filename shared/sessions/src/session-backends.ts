// Starts the session side of the configured backends — the isolate (JavaScript/TypeScript, no set-up), docker
// (runc) and gvisor (runsc) when dockerd, the runtimes and the images are there — and picks the backend for a
// session request. A backend that cannot start is left out (sessions on it answer backend_unavailable), never
// fatal. A session naming a template is checked like an execution naming one (400 unknown or not serving the
// language, 503 template_unavailable until built) and opens in a container backend only.

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '@airlock/config';
import type { Logger } from '@airlock/logging';
import { AirlockError, type Backend, type BackendName, type SessionLanguage } from '@airlock/protocol';
import {
  CONTAINER_BACKENDS,
  CONTAINER_RUNTIMES,
  ContainerSessionBackend,
  IsolateSessionBackend,
  noTemplates,
  probeContainerBackends,
  type SessionBackend,
  type TemplateRegistry,
} from '@airlock/sandbox';
import Dockerode from 'dockerode';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Preference order for `backend: auto`, per session language. */
const AUTO_ORDER: Record<SessionLanguage, readonly BackendName[]> = {
  python: ['gvisor', 'docker'],
  javascript: ['isolate'],
  typescript: ['isolate'],
};
/** Templates are container images: a session naming one opens in these. */
const TEMPLATE_ORDER: readonly BackendName[] = ['gvisor', 'docker'];

export class SessionBackends {
  readonly #backends = new Map<BackendName, SessionBackend>();
  readonly #templates: TemplateRegistry | undefined;

  constructor(backends: readonly SessionBackend[], templates?: TemplateRegistry) {
    for (const backend of backends) this.#backends.set(backend.backend, backend);
    this.#templates = templates;
  }

  /**
   * The concrete backend for a session, or AirlockError `backend_unavailable`; with a template, first its
   * `invalid_request` / `template_unavailable` (the same as an execution naming it).
   */
  resolve(
    language: SessionLanguage,
    requested: Backend,
    allowed?: readonly BackendName[],
    template?: string,
  ): SessionBackend {
    if (template !== undefined) {
      if (this.#templates === undefined) throw noTemplates(template);
      this.#templates.require(template, language);
    }
    const order = template === undefined ? AUTO_ORDER[language] : TEMPLATE_ORDER;
    const candidates = (requested === 'auto' ? order : [requested]).filter(
      (b) => allowed === undefined || allowed.includes(b),
    );
    for (const name of candidates) {
      if (template !== undefined && !TEMPLATE_ORDER.includes(name)) continue;
      const backend = this.#backends.get(name);
      if (backend?.languages.includes(language)) return backend;
    }
    if (template !== undefined) {
      throw new AirlockError(
        'backend_unavailable',
        `template '${template}' runs in containers (docker, gvisor); backend '${requested}' has no ${language} sessions with it here`,
        { field: 'backend' },
      );
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
  /** The templates sessions may start from (the sandboxes' registry, kept current by their builds). */
  templates?: TemplateRegistry,
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
          templates,
          startTimeoutMs: config.AIRLOCK_SESSION_START_TIMEOUT_MS,
          logger,
          readyImagesFolder:
            config.AIRLOCK_SESSION_READY_SNAPSHOT === 'on'
              ? join(config.AIRLOCK_DATA_DIR, 'session-ready')
              : undefined,
        }),
      );
    }
  }
  return new SessionBackends(started, templates);
}
