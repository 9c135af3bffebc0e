// The sandbox registry of a gateway that runs no sandboxes itself (scaled out on NATS): the backends the
// worker fleet runs, as AIRLOCK_BACKENDS on the gateway declares them, and the templates its live workers
// announce (fleet-templates.ts), so `auto`, a request's `template`, `/v1/runtimes` and `/v1/templates` answer
// as the workers would. The descriptors here never run anything: jobs go to the workers through the queue.
// Must never run a job in the gateway process.

import {
  AirlockError,
  type BackendName,
  COMPILED_LANGUAGES,
  type ExecutionResult,
  type Language,
} from '@airlock/protocol';
import type { RuntimeInfo, Sandbox } from '@airlock/sandbox';
import { SandboxRegistry, type TemplateSource } from '@airlock/worker';

/** The languages of each backend's own runtimes (the same lists as the isolate and container sandboxes). */
const FLEET_LANGUAGES: Record<BackendName, readonly Language[]> = {
  isolate: ['javascript', 'typescript'],
  docker: ['python', 'bash', 'javascript', 'typescript'],
  gvisor: ['python', 'bash', 'javascript', 'typescript'],
};
/** The container backends also run the compiled languages, in the templates that serve them. */
const TEMPLATE_LANGUAGES: Record<BackendName, readonly Language[]> = {
  isolate: [],
  docker: COMPILED_LANGUAGES,
  gvisor: COMPILED_LANGUAGES,
};

class FleetBackend implements Sandbox {
  readonly backend: BackendName;
  readonly languages: readonly Language[];

  constructor(backend: BackendName) {
    this.backend = backend;
    this.languages = [...FLEET_LANGUAGES[backend], ...TEMPLATE_LANGUAGES[backend]];
  }

  /** The built-in languages; the registry adds the compiled ones from the fleet's templates. */
  runtimes(): RuntimeInfo[] {
    return FLEET_LANGUAGES[this.backend].map((language) => ({
      language,
      backend: this.backend,
      version: 'on the workers',
      available: true,
    }));
  }

  run(): Promise<ExecutionResult> {
    return Promise.reject(new AirlockError('backend_unavailable', 'this gateway runs no sandboxes'));
  }

  async close(): Promise<void> {}
}

/** `templates` absent: the gateway knows none, and a request naming one is refused (the tests of other parts). */
export function fleetRegistry(backends: readonly BackendName[], templates?: TemplateSource): SandboxRegistry {
  return new SandboxRegistry(
    backends.map((backend) => new FleetBackend(backend)),
    [],
    [],
    templates,
  );
}
