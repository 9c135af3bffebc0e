// What this server knows of its templates: each one's state (ready, building, failed, missing), image tag and
// hash, the languages it serves with their program (file, run argv, compile argv), and its packages. The three
// images of scripts/build-images.sh (python, node, bash) are the built-in templates and each language's default.
// It must never hand out the program of a template that is not ready: the container backends run only images
// whose smoke check passed.

import { AirlockError, type Language, TEMPLATE_STATES, type TemplateState } from '@airlock/protocol';
import {
  type BuiltinLanguage,
  isBuiltinLanguage,
  LANGUAGE_PROGRAMS,
  type ResolvedImages,
} from '../container/images.ts';
import type { TemplateSpec } from './template-spec.ts';

export { TEMPLATE_STATES, type TemplateState };

/** How one language runs in a template's image. */
export interface TemplateProgram {
  /** The image tag, e.g. `airlock-tmpl-c:0123456789ab`. */
  image: string;
  /** The code's file under /work. */
  file: string;
  /** argv of the program; the request's args follow. */
  argv: readonly string[];
  /** argv of the compile step, run before argv in the same sandbox. */
  compile?: readonly string[] | undefined;
  /** Where the code, the request's files and both steps are: /work (absent) or a folder under it. */
  workdir?: string | undefined;
}

/** One template as `/v1/templates` shows it. */
export interface TemplateInfo {
  name: string;
  description: string | null;
  languages: Language[];
  /** Installed package → version (Debian, python3-*, npm), as read from the built image. */
  packages: Record<string, string>;
  size_bytes: number | null;
  hash: string | null;
  state: TemplateState;
  /** Why the template cannot be used, when it is not ready. */
  reason: string | null;
  builtin: boolean;
}

export interface TemplateEntry extends TemplateInfo {
  tag: string | null;
  programs: Partial<Record<Language, Omit<TemplateProgram, 'image'>>>;
}

export type TemplateLookup =
  | { ok: true; program: TemplateProgram }
  | { ok: false; reason: 'unknown' | 'unavailable' | 'language'; message: string; state?: TemplateState };

/** The built-in template serving each language by default (the image build-images.sh makes for it). */
export const DEFAULT_TEMPLATES: Readonly<Record<Language, string>> = {
  python: LANGUAGE_PROGRAMS.python.image,
  bash: LANGUAGE_PROGRAMS.bash.image,
  javascript: LANGUAGE_PROGRAMS.javascript.image,
  typescript: LANGUAGE_PROGRAMS.typescript.image,
  // The shipped templates of sandbox-images/templates (built at start-up or by `npm run templates -- build`).
  c: 'gcc',
  cpp: 'gcc',
  go: 'go',
  rust: 'rust',
  java: 'java',
  ruby: 'ruby',
  php: 'php',
};

/**
 * The template a job runs in: the one it names, else a compiled language's default (undefined: the built-in
 * language's default image, which every container backend has).
 */
export function templateOfJob(language: Language, named: string | undefined): string | undefined {
  return named ?? (isBuiltinLanguage(language) ? undefined : DEFAULT_TEMPLATES[language]);
}

/** Retry-After of `template_unavailable`: a build takes minutes; a failed one needs an operator. */
const TEMPLATE_RETRY_SECONDS: Readonly<Record<TemplateState, number>> = {
  building: 30,
  missing: 60,
  failed: 300,
  ready: 1,
};

export type TemplateChange = (name: string, before: TemplateEntry | undefined, after: TemplateEntry) => void;

export class TemplateRegistry {
  readonly #entries = new Map<string, TemplateEntry>();
  readonly #listeners = new Set<TemplateChange>();

  /** The built-in templates from the resolved images of build-images.sh. */
  static withBuiltins(images: ResolvedImages | null): TemplateRegistry {
    const registry = new TemplateRegistry();
    for (const name of ['python', 'node', 'bash'] as const) {
      const languages = (Object.keys(LANGUAGE_PROGRAMS) as BuiltinLanguage[]).filter(
        (l) => DEFAULT_TEMPLATES[l] === name,
      );
      const image = images?.[name];
      registry.set({
        name,
        description: `the built-in ${name} image (sandbox-images/${name})`,
        languages,
        packages: image ? { [name === 'node' ? 'nodejs' : name]: image.version } : {},
        size_bytes: null,
        hash: image?.hash ?? null,
        state: image ? 'ready' : 'missing',
        reason: image ? null : 'the sandbox images are not built (run scripts/setup-host.sh)',
        builtin: true,
        tag: image?.tag ?? null,
        programs: Object.fromEntries(
          languages.map((l) => [l, { file: LANGUAGE_PROGRAMS[l].file, argv: LANGUAGE_PROGRAMS[l].argv }]),
        ),
      });
    }
    return registry;
  }

  set(entry: TemplateEntry): void {
    const before = this.#entries.get(entry.name);
    this.#entries.set(entry.name, entry);
    for (const listener of this.#listeners) listener(entry.name, before, entry);
  }

  get(name: string): TemplateEntry | undefined {
    return this.#entries.get(name);
  }

  names(): string[] {
    return [...this.#entries.keys()].sort();
  }

  list(): TemplateInfo[] {
    return this.names().map((name) => infoOf(this.#entries.get(name) as TemplateEntry));
  }

  /** Called after every set(); returns the unsubscribe. */
  onChange(listener: TemplateChange): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The program of `language` in template `name` (or the language's default template). */
  lookup(name: string | undefined, language: Language): TemplateLookup {
    const templateName = name ?? DEFAULT_TEMPLATES[language];
    const entry = this.#entries.get(templateName);
    const refused = templateRefusal(templateName, language, entry);
    if (refused) return refused;
    const { tag, programs } = entry as TemplateEntry;
    const program = programs[language];
    if (tag === null || program === undefined) return unavailable(templateName, entry as TemplateEntry);
    return { ok: true, program: { image: tag, ...program } };
  }

  /**
   * The program of `language` in template `name`, or the caller's error: 400 `invalid_request` (field
   * `template`) for a template this server does not have or that does not serve the language, 503
   * `template_unavailable` with Retry-After until it is ready.
   */
  require(name: string, language: Language): TemplateProgram {
    const found = this.lookup(name, language);
    if (found.ok) return found.program;
    throw refusalError(found);
  }
}

export type TemplateRefusal = Extract<TemplateLookup, { ok: false }>;

/**
 * Why `language` cannot run in template `name` now, given what is known of it (undefined: nothing), or
 * undefined when it is ready and serves the language. The one rule for a worker's registry and a NATS
 * gateway's view of its fleet.
 */
export function templateRefusal(
  name: string,
  language: Language,
  template: Pick<TemplateInfo, 'languages' | 'state' | 'reason'> | undefined,
): TemplateRefusal | undefined {
  if (template === undefined) {
    return { ok: false, reason: 'unknown', message: `no template named ${JSON.stringify(name)}` };
  }
  if (!template.languages.includes(language)) {
    return {
      ok: false,
      reason: 'language',
      message: `template ${name} does not serve ${language} (it serves ${template.languages.join(', ') || 'nothing'})`,
    };
  }
  return template.state === 'ready' ? undefined : unavailable(name, template);
}

/** 400 `invalid_request` (field `template`) for an unknown template or language, else 503 with Retry-After. */
export function refusalError(refusal: TemplateRefusal): AirlockError {
  if (refusal.reason !== 'unavailable') {
    return new AirlockError('invalid_request', refusal.message, { field: 'template' });
  }
  return new AirlockError('template_unavailable', refusal.message, {
    field: 'template',
    retryAfter: TEMPLATE_RETRY_SECONDS[refusal.state ?? 'missing'],
  });
}

function unavailable(name: string, template: Pick<TemplateInfo, 'state' | 'reason'>): TemplateRefusal {
  const state = template.state === 'ready' ? 'missing' : template.state;
  return {
    ok: false,
    reason: 'unavailable',
    state,
    message: `template ${name} is ${state}${template.reason ? `: ${template.reason}` : ''}`,
  };
}

/** The refusal of a request naming a template on a server that runs none (no container backend). */
export function noTemplates(name: string): AirlockError {
  return new AirlockError('invalid_request', `template '${name}': this server runs no templates`, {
    field: 'template',
  });
}

/** The programs a spec's languages run. */
export function programsOf(spec: Pick<TemplateSpec, 'languages' | 'workdir'>): TemplateEntry['programs'] {
  const programs: TemplateEntry['programs'] = {};
  for (const [language, program] of Object.entries(spec.languages)) {
    if (program === undefined) continue;
    programs[language as Language] = {
      file: program.source_file,
      argv: program.run,
      ...(program.compile ? { compile: program.compile } : {}),
      ...(spec.workdir !== undefined && spec.workdir !== '/work' ? { workdir: spec.workdir } : {}),
    };
  }
  return programs;
}

function infoOf(entry: TemplateEntry): TemplateInfo {
  const { tag: _tag, programs: _programs, ...info } = entry;
  return info;
}
