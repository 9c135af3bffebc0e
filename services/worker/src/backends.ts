// Which sandbox runs which language: the registry of started backends and the `auto` choice.

import { AirlockError, type Backend, type BackendName, type Language } from '@airlock/protocol';
import {
  noTemplates,
  type RuntimeInfo,
  type Sandbox,
  type TemplateInfo,
  TemplateRegistry,
  templateOfJob,
  type WarmPoolStats,
} from '@airlock/sandbox';
import { runtimesWithTemplates } from './template-runtimes.ts';

/**
 * The templates the container backends run, as the registry asks of them: a worker's TemplateRegistry, or a
 * NATS gateway's view of what its live workers announce.
 */
export interface TemplateSource {
  /** Nothing when `language` runs in template `name` now; else throws the caller's error (400 or 503). */
  require(name: string, language: Language): unknown;
  list(): TemplateInfo[];
}

/** Templates run in containers only: `auto` picks among these for a request naming one. */
const TEMPLATE_ORDER: readonly BackendName[] = ['gvisor', 'docker'];
/** Preference order for `backend: auto`, per built-in language; the first available backend wins. */
const AUTO_ORDER: Partial<Record<Language, readonly BackendName[]>> = {
  javascript: ['isolate'],
  typescript: ['isolate'],
  python: ['gvisor', 'docker'],
  bash: ['gvisor', 'docker'],
};

export class SandboxRegistry {
  readonly #sandboxes = new Map<Backend, Sandbox>();
  readonly #unavailable: readonly RuntimeInfo[];
  readonly #housekeeping: readonly { close(): Promise<void> }[];
  readonly #templates: TemplateSource | undefined;

  /**
   * `unavailable` lists runtimes configured but not running, with the reason, for /v1/runtimes; `housekeeping`
   * is closed with the sandboxes (the periodic leftover reaper).
   */
  constructor(
    sandboxes: readonly Sandbox[],
    unavailable: readonly RuntimeInfo[] = [],
    housekeeping: readonly { close(): Promise<void> }[] = [],
    /** The templates the container backends run (absent: none beyond the language defaults). */
    templates?: TemplateSource,
  ) {
    this.#templates = templates;
    for (const sandbox of sandboxes) this.#sandboxes.set(sandbox.backend, sandbox);
    this.#unavailable = unavailable;
    this.#housekeeping = housekeeping;
  }

  /**
   * The concrete backend for a request, or AirlockError `backend_unavailable`. `allowed` (from the caller's
   * capability) restricts what `auto` may choose.
   */
  resolve(
    language: Language,
    requested: Backend,
    allowed?: readonly BackendName[],
    named?: string,
  ): BackendName {
    // A compiled language runs only in a template: the one named, or its default (sandbox-images/templates).
    const template = templateOfJob(language, named);
    if (template !== undefined) this.#checkTemplate(template, language);
    const order = template === undefined ? (AUTO_ORDER[language] ?? TEMPLATE_ORDER) : TEMPLATE_ORDER;
    const candidates = (requested === 'auto' ? order : [requested]).filter(
      (b) => allowed === undefined || allowed.includes(b),
    );
    for (const backend of candidates) {
      if (template !== undefined && !TEMPLATE_ORDER.includes(backend)) continue;
      if (this.#sandboxes.get(backend)?.languages.includes(language)) return backend;
    }
    if (template !== undefined) {
      throw new AirlockError(
        'backend_unavailable',
        `template '${template}' runs in containers (docker, gvisor); backend '${requested}' cannot run it here`,
        { field: 'backend' },
      );
    }
    throw new AirlockError(
      'backend_unavailable',
      `backend '${requested}' cannot run language '${language}' on this server`,
      { field: 'backend' },
    );
  }

  /** 400 for a template this server does not have (or that does not serve the language), 503 until it is ready. */
  #checkTemplate(template: string, language: Language): void {
    if (this.#templates === undefined) throw noTemplates(template);
    this.#templates.require(template, language);
  }

  /** The templates the container backends run (shared with the session backends); absent without them. */
  get templateRegistry(): TemplateRegistry | undefined {
    return this.#templates instanceof TemplateRegistry ? this.#templates : undefined;
  }

  /** The templates (GET /v1/templates); empty when no container backend runs. */
  templates(): TemplateInfo[] {
    return this.#templates?.list() ?? [];
  }

  /** The sandbox of `backend`; `auto` names none (a job's backend is resolved before it is queued). */
  get(backend: Backend): Sandbox {
    const sandbox = this.#sandboxes.get(backend);
    if (!sandbox) throw new AirlockError('backend_unavailable', `backend '${backend}' is not running`);
    return sandbox;
  }

  /** Every language × backend; the container backends' rows name their template (compiled languages too). */
  runtimes(): RuntimeInfo[] {
    const templates = this.templates();
    const rows = [...this.#sandboxes.values()].flatMap((sandbox) =>
      TEMPLATE_ORDER.includes(sandbox.backend)
        ? runtimesWithTemplates(sandbox, templates)
        : sandbox.runtimes(),
    );
    return [...rows, ...this.#unavailable];
  }

  /** The warm pools of every backend that keeps one, each with its backend. */
  pools(): Array<WarmPoolStats & { backend: BackendName }> {
    return [...this.#sandboxes.values()].flatMap((sandbox) =>
      (sandbox.pools?.() ?? []).map((pool) => ({ ...pool, backend: sandbox.backend })),
    );
  }

  async close(): Promise<void> {
    await Promise.allSettled(
      [...this.#housekeeping, ...this.#sandboxes.values()].map((part) => part.close()),
    );
  }
}
