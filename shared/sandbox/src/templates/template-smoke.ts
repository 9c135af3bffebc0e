// The smoke check of a freshly built template image: jobs run through the real container backend with every
// hardened flag (read-only root, no capabilities, uid 65534, pids and memory limits, no network), first a
// plain `/bin/sh` job through the runner, then each `smoke` job of the spec, whose stdout must match exactly.
// It must never mark an image good that failed any of them.

import type { Language } from '@airlock/protocol';
import type Dockerode from 'dockerode';
import { ContainerSandbox } from '../container/container-sandbox.ts';
import type { ContainerRuntime } from '../container/container-spec.ts';
import { CONTAINER_BACKENDS, CONTAINER_RUNTIMES } from '../container/container-spec.ts';
import type { ResolvedImages } from '../container/images.ts';
import { programsOf, type TemplateEntry, TemplateRegistry } from './template-registry.ts';
import type { TemplateSpec } from './template-spec.ts';

const LIMITS = { wall_time_ms: 60_000, cpu_time_ms: 60_000, memory_mb: 256, output_bytes: 1 << 20 };

/** Runs the smoke jobs; resolves with null when all passed, else with what failed. */
export async function smokeTemplate(
  docker: Dockerode,
  image: string,
  spec: TemplateSpec,
  runtimes: readonly ContainerRuntime[],
): Promise<string | null> {
  const registry = new TemplateRegistry();
  registry.set(entry('smoke', image, programsOf(spec)));
  // The runner alone, whatever the template serves: `/bin/sh main.sh`.
  registry.set(entry('smoke-sh', image, { bash: { file: 'main.sh', argv: ['/bin/sh', 'main.sh'] } }));
  const unused = { tag: image, hash: '', version: '' };
  const images: ResolvedImages = { python: unused, node: unused, bash: unused };
  for (const runtime of runtimes) {
    const backend = CONTAINER_BACKENDS.find((b) => CONTAINER_RUNTIMES[b] === runtime) ?? 'docker';
    const sandbox = new ContainerSandbox({
      docker,
      runtime,
      backend,
      images,
      templates: registry,
      pool: { size: 0 },
    });
    try {
      const jobs = [
        {
          template: 'smoke-sh',
          language: 'bash' as Language,
          code: 'echo airlock-smoke',
          stdout: 'airlock-smoke\n',
        },
        ...spec.smoke.map((s) => ({ template: 'smoke', ...s })),
      ];
      for (const [i, job] of jobs.entries()) {
        const result = await sandbox.run(
          {
            executionId: `ex_smoke${i}`,
            language: job.language,
            template: job.template,
            code: job.code,
            files: [],
            stdin: '',
            args: [],
            env: {},
            limits: LIMITS,
          },
          { signal: new AbortController().signal },
        );
        if (result.outcome !== 'success' || result.stdout !== job.stdout) {
          const what = i === 0 ? 'runner check (/bin/sh main.sh)' : `smoke[${i - 1}] (${job.language})`;
          return `${what} on ${runtime}: outcome ${result.outcome}, exit ${result.exit_code}, stdout ${JSON.stringify(result.stdout.slice(0, 200))}, stderr ${JSON.stringify(result.stderr.slice(0, 300))}${result.reason ? `, ${result.reason}` : ''}`;
        }
      }
    } finally {
      await sandbox.close();
    }
  }
  return null;
}

function entry(name: string, tag: string, programs: TemplateEntry['programs']): TemplateEntry {
  return {
    name,
    description: null,
    languages: Object.keys(programs) as Language[],
    packages: {},
    size_bytes: null,
    hash: null,
    state: 'ready' as const,
    reason: null,
    builtin: false,
    tag,
    programs,
  };
}
