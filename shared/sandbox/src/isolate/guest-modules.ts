// Compiles a job's code and files as ES modules inside its isolate and resolves imports between them. Only
// relative specifiers that name one of the job's own files resolve; TypeScript is type-stripped first.
// Must never resolve anything outside the job (no Node built-ins, packages, URLs or host paths).

import { stripTypeScriptTypes } from 'node:module';
import { posix } from 'node:path';
import type ivm from 'isolated-vm';
import type { HostJob } from './host-messages.ts';

const ENTRY_HOOK = 'airlock:entry';
const ENTRY_HOOK_SOURCE = `const key = Symbol.for('airlock.entryDone');
const done = globalThis[key];
delete globalThis[key];
export default done;`;
const ENTRY_MAIN = 'airlock:main';
/** Imports the hook, then the job's main module, then reports completion. */
const ENTRY_SOURCE = `import done from '${ENTRY_HOOK}';\nimport '${ENTRY_MAIN}';\ndone();`;
const JS = /\.(?:js|mjs)$/;
const TS = /\.(?:ts|mts)$/;

/** A fault in the job's own modules (syntax, bad import): the job ends with outcome `error`. */
export class GuestModuleError extends Error {
  override name = 'GuestModuleError';
}

export function mainPath(language: HostJob['language']): string {
  return language === 'typescript' ? 'main.ts' : 'main.js';
}

/** The two internal modules every job starts from; the same for every job, so compiled before it exists. */
export interface EntryModules {
  entry: ivm.Module;
  hook: ivm.Module;
}

export async function compileEntryModules(isolate: ivm.Isolate): Promise<EntryModules> {
  const [entry, hook] = await Promise.all([
    isolate.compileModule(ENTRY_SOURCE, { filename: 'airlock:entry-point' }),
    isolate.compileModule(ENTRY_HOOK_SOURCE, { filename: ENTRY_HOOK }),
  ]);
  return { entry, hook };
}

export class GuestModules {
  readonly #isolate: ivm.Isolate;
  readonly #main: string;
  readonly #sources = new Map<string, string | Uint8Array>();
  readonly #compiled = new Map<string, Promise<ivm.Module>>();
  readonly #paths = new Map<ivm.Module, string>();
  #entry: EntryModules | null = null;

  constructor(isolate: ivm.Isolate, job: HostJob) {
    this.#isolate = isolate;
    this.#main = mainPath(job.language);
    for (const file of job.files) this.#sources.set(file.path, file.content);
    this.#sources.set(this.#main, job.code);
  }

  /** Links the entry (compiled in this isolate, never linked before) to the job's modules; returns it. */
  async link(context: ivm.Context, modules: EntryModules): Promise<ivm.Module> {
    this.#entry = modules;
    await modules.entry.instantiate(context, (specifier, referrer) => this.#resolve(specifier, referrer));
    return modules.entry;
  }

  #resolve(specifier: string, referrer: ivm.Module): ivm.Module | Promise<ivm.Module> {
    const atEntry = referrer === this.#entry?.entry;
    if (atEntry && specifier === ENTRY_HOOK && this.#entry !== null) return this.#entry.hook;
    if (atEntry && specifier === ENTRY_MAIN) return this.#compile(this.#main);
    const from = atEntry ? '.' : (this.#paths.get(referrer) ?? '.');
    const fromLabel = from === '.' ? 'the entry point' : from;
    if (!specifier.startsWith('./') && !specifier.startsWith('../')) {
      throw new GuestModuleError(
        `Cannot import '${specifier}' from ${fromLabel}: the isolate sandbox only resolves relative imports ` +
          'of the job’s own files (no Node built-ins, packages or URLs)',
      );
    }
    const joined = posix.normalize(posix.join(posix.dirname(from), specifier));
    const path = this.#find(joined);
    if (path === null) {
      throw new GuestModuleError(`Cannot find module '${specifier}' imported from ${fromLabel}`);
    }
    return this.#compile(path);
  }

  #find(path: string): string | null {
    if (path.startsWith('../') || path === '..') return null;
    if (this.#sources.has(path)) return path;
    // TypeScript convention: `./lib.js` in source names `lib.ts` on disk.
    const asTs = path.replace(/\.js$/, '.ts').replace(/\.mjs$/, '.mts');
    return asTs !== path && this.#sources.has(asTs) ? asTs : null;
  }

  #compile(path: string): Promise<ivm.Module> {
    let compiled = this.#compiled.get(path);
    if (compiled === undefined) {
      compiled = this.#compileFresh(path);
      this.#compiled.set(path, compiled);
    }
    return compiled;
  }

  async #compileFresh(path: string): Promise<ivm.Module> {
    const raw = this.#sources.get(path);
    const text = typeof raw === 'string' ? raw : Buffer.from(raw ?? new Uint8Array()).toString('utf8');
    let source: string;
    if (TS.test(path)) source = stripTypes(text, path);
    else if (JS.test(path)) source = text;
    else
      throw new GuestModuleError(`Cannot import '${path}': only .js, .mjs, .ts and .mts files are modules`);
    const module = await this.#isolate.compileModule(source, { filename: `file:///job/${path}` });
    this.#paths.set(module, path);
    return module;
  }
}

function stripTypes(code: string, path: string): string {
  try {
    return stripTypeScriptTypes(code, { mode: 'strip' });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new GuestModuleError(`TypeScript error in ${path}: ${message}`);
  }
}
