// Which sandbox runs which language: the registry of started backends and the `auto` choice.

import { AirlockError, type Backend, type BackendName, type Language } from '@airlock/protocol';
import type { RuntimeInfo, Sandbox, WarmPoolStats } from '@airlock/sandbox';

/** Preference order for `backend: auto`, per language; the first available backend wins. */
const AUTO_ORDER: Record<Language, readonly BackendName[]> = {
  javascript: ['isolate'],
  typescript: ['isolate'],
  python: ['gvisor', 'docker'],
  bash: ['gvisor', 'docker'],
};

export class SandboxRegistry {
  readonly #sandboxes = new Map<Backend, Sandbox>();
  readonly #unavailable: readonly RuntimeInfo[];
  readonly #housekeeping: readonly { close(): Promise<void> }[];

  /**
   * `unavailable` lists runtimes configured but not running, with the reason, for /v1/runtimes; `housekeeping`
   * is closed with the sandboxes (the periodic leftover reaper).
   */
  constructor(
    sandboxes: readonly Sandbox[],
    unavailable: readonly RuntimeInfo[] = [],
    housekeeping: readonly { close(): Promise<void> }[] = [],
  ) {
    for (const sandbox of sandboxes) this.#sandboxes.set(sandbox.backend, sandbox);
    this.#unavailable = unavailable;
    this.#housekeeping = housekeeping;
  }

  /**
   * The concrete backend for a request, or AirlockError `backend_unavailable`. `allowed` (from the caller's
   * capability) restricts what `auto` may choose.
   */
  resolve(language: Language, requested: Backend, allowed?: readonly BackendName[]): BackendName {
    const candidates = (requested === 'auto' ? AUTO_ORDER[language] : [requested]).filter(
      (b) => allowed === undefined || allowed.includes(b),
    );
    for (const backend of candidates) {
      if (this.#sandboxes.get(backend)?.languages.includes(language)) return backend;
    }
    throw new AirlockError(
      'backend_unavailable',
      `backend '${requested}' cannot run language '${language}' on this server`,
      { field: 'backend' },
    );
  }

  /** The sandbox of `backend`; `auto` names none (a job's backend is resolved before it is queued). */
  get(backend: Backend): Sandbox {
    const sandbox = this.#sandboxes.get(backend);
    if (!sandbox) throw new AirlockError('backend_unavailable', `backend '${backend}' is not running`);
    return sandbox;
  }

  runtimes(): RuntimeInfo[] {
    return [...[...this.#sandboxes.values()].flatMap((sandbox) => sandbox.runtimes()), ...this.#unavailable];
  }

  /** The warm pools of every backend that keeps one. */
  pools(): WarmPoolStats[] {
    return [...this.#sandboxes.values()].flatMap((sandbox) => sandbox.pools?.() ?? []);
  }

  async close(): Promise<void> {
    await Promise.allSettled(
      [...this.#housekeeping, ...this.#sandboxes.values()].map((part) => part.close()),
    );
  }
}
