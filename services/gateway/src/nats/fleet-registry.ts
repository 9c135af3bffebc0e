// The sandbox registry of a gateway that runs no sandboxes itself (scaled out on NATS): the backends the
// worker fleet runs, as AIRLOCK_BACKENDS on the gateway declares them, so `auto` and `/v1/runtimes` answer
// as the workers would. The descriptors here never run anything: jobs go to the workers through the queue.
// Must never run a job in the gateway process.

import { AirlockError, type BackendName, type ExecutionResult, type Language } from '@airlock/protocol';
import type { RuntimeInfo, Sandbox } from '@airlock/sandbox';
import { SandboxRegistry } from '@airlock/worker';

/** What each backend runs (the same lists as the isolate and container sandboxes). */
const FLEET_LANGUAGES: Record<BackendName, readonly Language[]> = {
  isolate: ['javascript', 'typescript'],
  docker: ['python', 'bash', 'javascript', 'typescript'],
  gvisor: ['python', 'bash', 'javascript', 'typescript'],
};

class FleetBackend implements Sandbox {
  readonly backend: BackendName;
  readonly languages: readonly Language[];

  constructor(backend: BackendName) {
    this.backend = backend;
    this.languages = FLEET_LANGUAGES[backend];
  }

  runtimes(): RuntimeInfo[] {
    return this.languages.map((language) => ({
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

export function fleetRegistry(backends: readonly BackendName[]): SandboxRegistry {
  return new SandboxRegistry(backends.map((backend) => new FleetBackend(backend)));
}
