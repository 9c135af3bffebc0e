// The templates a worker's container backends run: the built-in python/node/bash images plus every spec of
// sandbox-images/templates and AIRLOCK_TEMPLATES_DIR. At start-up those already built are ready at once; the
// others build in the background (AIRLOCK_TEMPLATES_BUILD=build) with their progress in the log, answering 503
// template_unavailable until ready. A template that fails to load or build is `failed` with why; it never
// stops the service or the other templates.

import { join } from 'node:path';
import type { Config } from '@airlock/config';
import type { Logger } from '@airlock/logging';
import {
  buildTemplates,
  findBuildInputs,
  loadTemplateCatalog,
  type ResolvedImages,
  TemplateRegistry,
} from '@airlock/sandbox';
import type Dockerode from 'dockerode';

export interface StartedTemplates {
  registry: TemplateRegistry;
  /** Settles when the background builds have ended (or at once when there are none). */
  built: Promise<void>;
}

export async function startTemplates(
  config: Config,
  logger: Logger,
  docker: Dockerode,
  images: ResolvedImages,
  repoRoot: string,
): Promise<StartedTemplates> {
  const registry = TemplateRegistry.withBuiltins(images);
  const dirs = [join(repoRoot, 'sandbox-images', 'templates')];
  if (config.AIRLOCK_TEMPLATES_DIR) dirs.push(config.AIRLOCK_TEMPLATES_DIR);
  const catalog = await loadTemplateCatalog(dirs);
  let inputs: Awaited<ReturnType<typeof findBuildInputs>>;
  try {
    inputs = await findBuildInputs(repoRoot);
  } catch (err) {
    logger.warn({ err }, 'templates unavailable: the runner or base image is missing');
    return { registry, built: Promise.resolve() };
  }
  const base = {
    docker,
    inputs,
    registry,
    progress: (line: string) => logger.info({ template: line }, 'template build'),
  };
  const found = await buildTemplates(catalog, { ...base, lookOnly: true });
  for (const failed of found.failed)
    logger.warn({ template: failed.name, reason: failed.reason }, 'template unavailable');
  if (found.missing.length === 0 || config.AIRLOCK_TEMPLATES_BUILD === 'off') {
    return { registry, built: Promise.resolve() };
  }
  logger.info({ templates: found.missing }, 'building templates in the background');
  const missing = { ...catalog, specs: catalog.specs.filter((s) => found.missing.includes(s.name)) };
  const built = buildTemplates(missing, base).then(
    (summary) => logger.info({ ready: summary.ready, failed: summary.failed }, 'template builds done'),
    (err: unknown) => logger.error({ err }, 'template builds failed'),
  );
  return { registry, built };
}
