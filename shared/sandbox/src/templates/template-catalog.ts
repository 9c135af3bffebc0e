// The template specs this server has: every <name>/template.json under the shipped folder
// (sandbox-images/templates) and the operator's folder (AIRLOCK_TEMPLATES_DIR), in build order (a template
// after the one it builds from), and the input hash that tags each image. A bad spec is reported by name and
// never stops the others from loading.
// It must never let an operator's template shadow a shipped one, nor order a template before its parent.

import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type LoadedTemplateSpec,
  parseTemplateSpec,
  TEMPLATE_NAME,
  TemplateSpecError,
} from './template-spec.ts';

export interface TemplateCatalog {
  /** Loaded specs in build order (parents first). */
  specs: LoadedTemplateSpec[];
  /** Specs that could not be loaded, by template name. */
  errors: Map<string, TemplateSpecError>;
}

/** Reads one template folder `dir/<name>/template.json`. */
export async function loadTemplateSpec(dir: string, name: string): Promise<LoadedTemplateSpec> {
  const path = join(dir, name, 'template.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new TemplateSpecError('template_not_found', 'name', `${path} cannot be read`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new TemplateSpecError('template_invalid_json', '(root)', `${path}: ${(error as Error).message}`);
  }
  return parseTemplateSpec(name, join(dir, name), json);
}

/** Loads every template of the folders, the shipped one first. */
export async function loadTemplateCatalog(dirs: readonly string[]): Promise<TemplateCatalog> {
  const byName = new Map<string, LoadedTemplateSpec>();
  const errors = new Map<string, TemplateSpecError>();
  for (const dir of dirs) {
    let names: string[];
    try {
      names = (await readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
    } catch {
      continue; // an operator folder that does not exist yet holds no templates
    }
    for (const name of names.sort()) {
      if (!TEMPLATE_NAME.test(name)) continue;
      if (byName.has(name) || errors.has(name) || ['python', 'node', 'bash'].includes(name)) {
        errors.set(
          name,
          new TemplateSpecError('template_invalid', 'name', `${name} is already defined (${dir})`),
        );
        continue;
      }
      try {
        byName.set(name, await loadTemplateSpec(dir, name));
      } catch (error) {
        if (!(error instanceof TemplateSpecError)) throw error;
        errors.set(name, error);
      }
    }
  }
  return { specs: buildOrder(byName, errors), errors };
}

/** Parents first; a template whose parent is missing, failed to load, or circles back is an error. */
function buildOrder(byName: Map<string, LoadedTemplateSpec>, errors: Map<string, TemplateSpecError>) {
  const ordered: LoadedTemplateSpec[] = [];
  const state = new Map<string, 'visiting' | 'done' | 'bad'>();
  const visit = (name: string): boolean => {
    const seen = state.get(name);
    if (seen === 'done') return true;
    if (seen === 'bad') return false;
    const loaded = byName.get(name);
    if (loaded === undefined) return false;
    if (seen === 'visiting') {
      errors.set(name, new TemplateSpecError('template_cycle', 'from', `${name} builds from itself`));
      state.set(name, 'bad');
      return false;
    }
    state.set(name, 'visiting');
    const parent = parentTemplate(loaded);
    if (parent !== null && !['python', 'node', 'bash'].includes(parent) && !visit(parent)) {
      if (!errors.has(name)) {
        errors.set(
          name,
          new TemplateSpecError('template_invalid', 'from', `parent template ${parent} is not available`),
        );
      }
      state.set(name, 'bad');
      return false;
    }
    state.set(name, 'done');
    ordered.push(loaded);
    return true;
  };
  for (const name of [...byName.keys()].sort()) visit(name);
  return ordered;
}

/** The template a spec builds from, if it names one. */
export function parentTemplate(loaded: LoadedTemplateSpec): string | null {
  return loaded.spec.from.startsWith('template:') ? loaded.spec.from.slice('template:'.length) : null;
}

/** 12 hex of everything that goes into the image: what it builds on, the spec, its files, the runner. */
export async function templateHash(
  loaded: LoadedTemplateSpec,
  inputs: {
    fromId: string;
    runnerHash: string;
    contract: string;
    aptSources: readonly string[];
    /** Hash of the session kernel, which a template serving python carries. */
    kernelHash: string;
  },
): Promise<string> {
  const hash = createHash('sha256');
  hash.update(`contract=${inputs.contract} runner=${inputs.runnerHash} from=${inputs.fromId}\n`);
  if (loaded.spec.languages.python !== undefined) hash.update(`kernel=${inputs.kernelHash}\n`);
  hash.update(`apt=${inputs.aptSources.join('\n')}\n`);
  hash.update(canonical(loaded.spec));
  for (const source of loaded.fileSources) hash.update(await readFile(source));
  return hash.digest('hex').slice(0, 12);
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    return `{${entries
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}
