// The template spec: the declarative file (`template.json`) an environment is built from, validated with zod.
// Shipped templates live in sandbox-images/templates/<name>/, an operator's own in AIRLOCK_TEMPLATES_DIR/<name>/.
// It must never accept an unknown key, a package name a shell or apt/npm could read as anything but a name, a
// file path that leaves the template's own folder, or an environment variable the loader or the backend owns:
// each gets a TemplateSpecError with a code and the field it is about.

import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import { LANGUAGES } from '@airlock/protocol';
import { z } from 'zod';

/** A template's name: also part of its image tag (`airlock-tmpl-<name>:<hash>`) and of the API. */
export const TEMPLATE_NAME = /^[a-z][a-z0-9-]{0,39}$/;

export const TEMPLATE_SPEC_ERRORS = {
  template_not_found: 'no template.json for this name',
  template_invalid_json: 'template.json is not valid JSON',
  template_unknown_key: 'a key the spec does not define',
  template_invalid_package: 'a package name that is not a plain Debian/npm package name',
  template_path_escape: 'a file path that leaves the template folder or the image root',
  template_invalid: 'a field is missing, of the wrong type, or out of range',
  template_cycle: 'templates that build from each other in a circle',
} as const;
export type TemplateSpecErrorCode = keyof typeof TEMPLATE_SPEC_ERRORS;

/** A spec that cannot be built; `field` is the JSON path of the offending value. */
export class TemplateSpecError extends Error {
  override name = 'TemplateSpecError';
  readonly code: TemplateSpecErrorCode;
  readonly field: string;
  constructor(code: TemplateSpecErrorCode, field: string, message: string) {
    super(`${code}: ${field}: ${message}`);
    this.code = code;
    this.field = field;
  }
}

// Package names only: letters, digits and the few separators Debian and npm use. No spaces, quotes, `;|&$<>`,
// globs or leading `-` (an option to apt-get or npm).
const DEBIAN_PACKAGE = /^[a-z0-9][a-z0-9+.-]{0,99}(?:=[A-Za-z0-9.+~:-]{1,60})?$/;
const PYTHON_PACKAGE = /^python3-[a-z0-9][a-z0-9+.-]{0,90}(?:=[A-Za-z0-9.+~:-]{1,60})?$/;
const NPM_PACKAGE = /^(?:@[a-z0-9][a-z0-9._-]{0,60}\/)?[a-z0-9][a-z0-9._-]{0,100}(?:@[A-Za-z0-9.+-]{1,60})?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,99}$/;
/** Variables the loader or the backend owns: a template must not set them. */
const RESERVED_ENV =
  /^(LD_|AIRLOCK_)|^(HOME|HTTP_PROXY|HTTPS_PROXY|http_proxy|https_proxy|NO_PROXY|no_proxy)$/;
const SOURCE_FILE = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}$/;
const ARGV_WORD = z
  .string()
  .min(1)
  .max(4096)
  .refine((s) => !s.includes('\0'), 'must not contain NUL');

const WORKDIR_MAX_CHARS = 120;
const WORKDIR_SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/;

const pkg = (re: RegExp, what: string) => z.string().regex(re, `must be a plain ${what} package name`);

/** `base` (the Airlock Debian base), `template:NAME`, or `image:REF` (an image already in the local engine). */
const FROM = /^(?:base|template:[a-z][a-z0-9-]{0,39}|image:[a-z0-9][a-z0-9._/:@-]{0,199})$/;

export const TemplateLanguageSpec = z.strictObject({
  /** The file under /work the code is written to, e.g. `main.c`. */
  source_file: z.string().regex(SOURCE_FILE, 'must be a plain file name'),
  /** argv of the program (no shell); the request's args follow it. */
  run: z.array(ARGV_WORD).min(1).max(32),
  /** argv of the compile step, run in the same sandbox before `run`; a non-zero exit ends `compile_error`. */
  compile: z.array(ARGV_WORD).min(1).max(32).optional(),
});

export const TemplateSpecSchema = z.strictObject({
  description: z.string().max(500).optional(),
  from: z.string().regex(FROM, 'must be "base", "template:NAME" or "image:REF"').default('base'),
  debian: z.array(pkg(DEBIAN_PACKAGE, 'Debian')).max(200).default([]),
  /** Python packages, from Debian (`python3-*`): there is no PyPI at build time. */
  python: z.array(pkg(PYTHON_PACKAGE, 'python3-* Debian')).max(200).default([]),
  /** Installed globally (`npm install -g`) from the npm registry; the image needs node to use them. */
  npm: z.array(pkg(NPM_PACKAGE, 'npm')).max(100).default([]),
  files: z
    .array(
      z.strictObject({
        /** Relative to the template folder; must stay inside it. */
        source: z.string().min(1).max(255),
        /** Absolute path in the image, outside /work and /tmp (tmpfs at run time). */
        target: z.string().min(2).max(255),
      }),
    )
    .max(100)
    .default([]),
  env: z
    .record(
      z
        .string()
        .regex(ENV_NAME, 'must be a plain variable name')
        .refine((n) => !RESERVED_ENV.test(n), {
          message: 'is set by Airlock itself',
        }),
      z
        .string()
        .max(4096)
        .refine((v) => !v.includes('\0') && !v.includes('\n'), 'must be one line'),
    )
    .default({}),
  /**
   * The directory the programs run in: `/work` (the default) or a folder under it, which holds the code's file
   * and the request's files. Only /work is the job's own and writable (the root is read-only, /tmp is
   * noexec and the user's HOME); /work/out stays where output files are collected.
   */
  workdir: z.string().min(1).max(WORKDIR_MAX_CHARS).optional(),
  languages: z.partialRecord(z.enum(LANGUAGES), TemplateLanguageSpec),
  /** Jobs the builder runs before the image is used: the program's stdout must equal `stdout`. */
  smoke: z
    .array(z.strictObject({ language: z.enum(LANGUAGES), code: z.string().max(10_000), stdout: z.string() }))
    .max(20)
    .default([]),
});
export type TemplateSpec = z.infer<typeof TemplateSpecSchema>;

/** A spec with where it came from: its folder (files resolve against it) and its name. */
export interface LoadedTemplateSpec {
  name: string;
  dir: string;
  spec: TemplateSpec;
  /** Absolute host paths of `files[].source`, checked to be regular files inside `dir`. */
  fileSources: string[];
}

/** Validates a parsed template.json of the template `name` in `dir`. */
export async function parseTemplateSpec(
  name: string,
  dir: string,
  json: unknown,
): Promise<LoadedTemplateSpec> {
  if (!TEMPLATE_NAME.test(name)) {
    throw new TemplateSpecError(
      'template_invalid',
      'name',
      `${JSON.stringify(name)} must match ${TEMPLATE_NAME}`,
    );
  }
  const parsed = TemplateSpecSchema.safeParse(json);
  if (!parsed.success) throw specErrorOf(parsed.error);
  const spec = parsed.data;
  if (Object.keys(spec.languages).length === 0 && spec.from === 'base') {
    throw new TemplateSpecError(
      'template_invalid',
      'languages',
      'a template from the base must serve a language',
    );
  }
  if (spec.workdir !== undefined) checkWorkdir(spec.workdir, 'workdir');
  const fileSources: string[] = [];
  const root = await realpath(dir);
  for (const [i, file] of spec.files.entries()) {
    fileSources.push(await confinedSource(root, file.source, `files[${i}].source`));
    checkTarget(file.target, `files[${i}].target`);
  }
  for (const [i, smoke] of spec.smoke.entries()) {
    if (spec.languages[smoke.language] === undefined && spec.from === 'base') {
      throw new TemplateSpecError(
        'template_invalid',
        `smoke[${i}].language`,
        `${smoke.language} is not served`,
      );
    }
  }
  return { name, dir: root, spec, fileSources };
}

async function confinedSource(root: string, source: string, field: string): Promise<string> {
  if (isAbsolute(source)) throw new TemplateSpecError('template_path_escape', field, 'must be relative');
  let real: string;
  try {
    real = await realpath(join(root, source));
  } catch {
    throw new TemplateSpecError('template_invalid', field, `${JSON.stringify(source)} does not exist`);
  }
  const rel = relative(root, real);
  if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) {
    throw new TemplateSpecError(
      'template_path_escape',
      field,
      `${JSON.stringify(source)} leaves the template folder`,
    );
  }
  if (!(await stat(real)).isFile()) {
    throw new TemplateSpecError('template_invalid', field, `${JSON.stringify(source)} is not a regular file`);
  }
  return real;
}

function checkTarget(target: string, field: string): void {
  const segments = target.split('/');
  if (!target.startsWith('/') || segments.slice(1).some((s) => s === '' || s === '.' || s === '..')) {
    throw new TemplateSpecError('template_path_escape', field, 'must be a normalized absolute path');
  }
  if (!/^[A-Za-z0-9._/+-]+$/.test(target)) {
    throw new TemplateSpecError('template_invalid', field, 'may hold only [A-Za-z0-9._/+-]');
  }
  if (/^\/(work|tmp|proc|sys|dev)(\/|$)|^\/opt\/airlock(\/|$)|^\/etc\/ld\.so\.preload$/.test(target)) {
    throw new TemplateSpecError(
      'template_path_escape',
      field,
      'is a path Airlock owns or mounts at run time',
    );
  }
}

/** `/work` or a normalized folder under it (not /work/out, where the runner collects output files). */
function checkWorkdir(workdir: string, field: string): void {
  const segments = workdir.split('/');
  if (!workdir.startsWith('/') || segments.slice(1).some((s) => s === '' || s === '.' || s === '..')) {
    throw new TemplateSpecError(
      'template_path_escape',
      field,
      `${JSON.stringify(workdir)} must be a normalized absolute path`,
    );
  }
  if (segments[1] !== 'work' || segments[2] === 'out') {
    throw new TemplateSpecError(
      'template_path_escape',
      field,
      `${JSON.stringify(workdir)} must be /work or a folder under it other than /work/out (the rest of the root is read-only)`,
    );
  }
  if (!segments.slice(2).every((s) => WORKDIR_SEGMENT.test(s))) {
    throw new TemplateSpecError(
      'template_invalid',
      field,
      'may hold only [A-Za-z0-9._-] in each folder name',
    );
  }
}

function specErrorOf(error: z.ZodError): TemplateSpecError {
  const issue = error.issues[0];
  if (issue === undefined) return new TemplateSpecError('template_invalid', '(root)', 'invalid spec');
  const field =
    issue.path
      .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
      .join('')
      .replace(/^\./, '') || '(root)';
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.join(', ');
    return new TemplateSpecError(
      'template_unknown_key',
      field === '(root)' ? keys : `${field}.${keys}`,
      `unknown key ${keys}`,
    );
  }
  const top = issue.path[0];
  if ((top === 'debian' || top === 'python' || top === 'npm') && issue.path.length === 2) {
    return new TemplateSpecError('template_invalid_package', field, issue.message);
  }
  return new TemplateSpecError('template_invalid', field, issue.message);
}
