// `npm run templates -- build [NAME...]` builds templates (all, or the named ones and what they build from)
// with their progress on stdout; `npm run templates -- list` shows each template's state, hash and packages.
// Templates come from sandbox-images/templates and AIRLOCK_TEMPLATES_DIR. Exit 1 when any named build failed.
// It must never remove an image: stale template tags stay until an operator removes them.

import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Dockerode from 'dockerode';
import { loadResolvedImages } from '../container/images.ts';
import { findBuildInputs } from './build-inputs.ts';
import { buildTemplates } from './template-builds.ts';
import { loadTemplateCatalog, parentTemplate } from './template-catalog.ts';
import { TemplateRegistry } from './template-registry.ts';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

async function main(argv: string[]): Promise<number> {
  const [command, ...names] = argv;
  if (command !== 'build' && command !== 'list') {
    console.error('usage: npm run templates -- build [NAME...] | list');
    return 2;
  }
  const dirs = [join(REPO_ROOT, 'sandbox-images', 'templates')];
  if (process.env.AIRLOCK_TEMPLATES_DIR) dirs.push(resolve(process.env.AIRLOCK_TEMPLATES_DIR));
  const docker = new Dockerode();
  const images = await loadResolvedImages(REPO_ROOT, docker).catch(() => null);
  const registry = TemplateRegistry.withBuiltins(images);
  const catalog = await loadTemplateCatalog(dirs);
  const unknown = names.filter((n) => !catalog.specs.some((s) => s.name === n) && !catalog.errors.has(n));
  if (unknown.length > 0) {
    console.error(`templates: no such template: ${unknown.join(', ')} (looked in ${dirs.join(', ')})`);
    return 2;
  }
  const only = names.length > 0 ? withParents(names, catalog.specs) : undefined;
  const summary = await buildTemplates(catalog, {
    docker,
    inputs: await findBuildInputs(REPO_ROOT),
    registry,
    lookOnly: command === 'list',
    ...(only ? { only } : {}),
    progress: (line) => console.log(`templates: ${line}`),
  });
  for (const info of registry.list()) {
    if (only && !only.includes(info.name)) continue;
    const packages = Object.entries(info.packages)
      .map(([p, v]) => `${p}=${v}`)
      .join(' ');
    console.log(
      `${info.name.padEnd(12)} ${info.state.padEnd(8)} ${info.hash ?? '-'} ${info.languages.join(',')} ${packages}${info.reason ? `  (${info.reason})` : ''}`,
    );
  }
  const failed = summary.failed.filter((f) => !only || only.includes(f.name));
  return command === 'build' && failed.length > 0 ? 1 : 0;
}

function withParents(
  names: string[],
  specs: Awaited<ReturnType<typeof loadTemplateCatalog>>['specs'],
): string[] {
  const out = new Set<string>();
  const add = (name: string) => {
    if (out.has(name)) return;
    out.add(name);
    const spec = specs.find((s) => s.name === name);
    const parent = spec ? parentTemplate(spec) : null;
    if (parent) add(parent);
  };
  for (const name of names) add(name);
  return [...out];
}

process.exitCode = await main(process.argv.slice(2));
