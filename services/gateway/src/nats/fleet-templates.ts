// What a NATS-mode gateway knows of the templates its workers serve: the union of the live workers'
// heartbeats (fleet-template-union.ts), re-read from the workers bucket every second and kept, so a request's
// `template`, GET /v1/templates and the MCP tool descriptions answer without a round trip and all from the
// same view. A request naming a template refuses as the embedded mode would: 400 (field `template`) when no
// live worker knows the name or it does not serve the language, 503 `template_unavailable` with Retry-After
// when none has it ready — also when no worker is live to say.
// Must never keep a worker's templates past its TTL, even while the bucket cannot be read.

import type { Language, Template, Worker } from '@airlock/protocol';
import type { WorkerRoster } from '@airlock/queue';
import { refusalError, templateRefusal } from '@airlock/sandbox';
import type { TemplateSource } from '@airlock/worker';
import { fleetTemplates, liveWorkers } from './fleet-template-union.ts';

const REFRESH_MS = 1000;

export interface FleetTemplatesOptions {
  roster: Pick<WorkerRoster, 'list'>;
  /** Told when the bucket could not be read (the last view stays, minus the workers whose TTL runs out). */
  onError?: (error: unknown) => void;
  /** @default () => new Date() */
  now?: () => Date;
}

export class FleetTemplates implements TemplateSource {
  readonly #options: FleetTemplatesOptions;
  readonly #now: () => Date;
  #workers: Worker[] = [];
  #timer: NodeJS.Timeout | undefined;
  #refreshing: Promise<void> = Promise.resolve();

  private constructor(options: FleetTemplatesOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => new Date());
  }

  /** Reads the bucket once (resolves after), then every second until stop(). */
  static async start(options: FleetTemplatesOptions): Promise<FleetTemplates> {
    const fleet = new FleetTemplates(options);
    await fleet.refresh();
    fleet.#timer = setInterval(() => {
      fleet.#refreshing = fleet.refresh();
    }, REFRESH_MS);
    fleet.#timer.unref();
    return fleet;
  }

  /** Re-reads the workers bucket now. Never rejects: a failure is told to onError. */
  async refresh(): Promise<void> {
    try {
      this.#workers = await this.#options.roster.list();
    } catch (error) {
      this.#options.onError?.(error);
    }
  }

  /** The fleet's templates (GET /v1/templates), with the live workers that have each ready. */
  list(): Template[] {
    return fleetTemplates(this.#workers, this.#now());
  }

  /** Nothing when some live worker runs `language` in `name` now; else the embedded mode's 400 or 503. */
  require(name: string, language: Language): void {
    if (liveWorkers(this.#workers, this.#now()).length === 0) {
      throw refusalError({
        ok: false,
        reason: 'unavailable',
        state: 'missing',
        message: `template ${name}: no worker is up to run it (GET /v1/workers)`,
      });
    }
    const refusal = templateRefusal(
      name,
      language,
      this.list().find((template) => template.name === name),
    );
    if (refusal) throw refusalError(refusal);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#refreshing;
  }
}
