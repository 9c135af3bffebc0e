// Builds a catalog's templates in order (parents first) into the registry: each one is `building` while its
// build runs, then `ready`, or `failed` with the step and package that failed; a spec that did not load is
// `failed` with its coded error. One failure never stops the others (a child of a failed template fails
// with "parent not ready").
// It must never throw for a template's own failure: the service starts and serves the other templates.

import { buildTemplate, planTemplate, type TemplateBuildOptions } from './template-builder.ts';
import type { TemplateCatalog } from './template-catalog.ts';
import { programsOf, type TemplateEntry } from './template-registry.ts';
import type { LoadedTemplateSpec } from './template-spec.ts';

export interface TemplateBuildsOptions extends TemplateBuildOptions {
  /** Build only these (and nothing else); default all. */
  only?: readonly string[];
  /** Only look for already built images; mark the others `missing`. */
  lookOnly?: boolean;
}

export interface TemplateBuildSummary {
  ready: string[];
  failed: Array<{ name: string; reason: string }>;
  missing: string[];
}

export async function buildTemplates(
  catalog: TemplateCatalog,
  options: TemplateBuildsOptions,
): Promise<TemplateBuildSummary> {
  const summary: TemplateBuildSummary = { ready: [], failed: [], missing: [] };
  const { registry } = options;
  for (const [name, error] of catalog.errors) {
    registry.set(pending(name, null, 'failed', error.message));
    summary.failed.push({ name, reason: error.message });
  }
  for (const loaded of catalog.specs) {
    if (options.only && !options.only.includes(loaded.name)) continue;
    try {
      if (options.lookOnly) {
        const planned = await planTemplate(loaded, options);
        const image = await options.docker
          .getImage(planned.tag)
          .inspect()
          .catch(() => null);
        if (image === null) {
          registry.set(
            pending(
              loaded.name,
              loaded,
              'missing',
              `not built yet (npm run templates -- build ${loaded.name})`,
              planned.hash,
            ),
          );
          summary.missing.push(loaded.name);
          continue;
        }
      } else {
        registry.set(pending(loaded.name, loaded, 'building', 'the image is being built'));
      }
      registry.set(await buildTemplate(loaded, options));
      summary.ready.push(loaded.name);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      options.progress?.(`${loaded.name} failed: ${reason}`);
      registry.set(pending(loaded.name, loaded, 'failed', reason));
      summary.failed.push({ name: loaded.name, reason });
    }
  }
  return summary;
}

function pending(
  name: string,
  loaded: LoadedTemplateSpec | null,
  state: TemplateEntry['state'],
  reason: string,
  hash: string | null = null,
): TemplateEntry {
  const programs = loaded ? programsOf(loaded.spec) : {};
  return {
    name,
    description: loaded?.spec.description ?? null,
    languages: Object.keys(programs) as TemplateEntry['languages'],
    packages: {},
    size_bytes: null,
    hash,
    state,
    reason,
    builtin: false,
    tag: null,
    programs,
  };
}
