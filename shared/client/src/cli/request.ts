// Turns the options of `airlock run`/`exec` into the request body: language (given or guessed from the file's
// extension), input files read from disk, limits and env as KEY=VALUE, program arguments, backend and template.
// Only checks what the command line alone can tell; the server validates the rest and names the field.

import { readFile } from 'node:fs/promises';
import { LIMIT_KEYS, type LimitKey } from '@airlock/protocol';
import { type InputFile, readInputFile } from '../files.ts';
import { list, optional, pairs, usage, type Values } from './args.ts';
import { languageOfFile } from './languages.ts';

/** The request as the command sends it: the API's fields, plus `template` passed through as given. */
export interface RunRequest {
  language: string;
  code: string;
  files?: InputFile[];
  stdin?: string;
  args?: string[];
  env?: Record<string, string>;
  limits?: Partial<Record<LimitKey, number>>;
  backend?: string;
  template?: string;
}

export const RUN_OPTIONS = {
  lang: { type: 'string', short: 'l' },
  backend: { type: 'string', short: 'b' },
  template: { type: 'string', short: 't' },
  stdin: { type: 'boolean' },
  file: { type: 'string', short: 'f', multiple: true },
  limit: { type: 'string', multiple: true },
  env: { type: 'string', short: 'e', multiple: true },
  out: { type: 'string', short: 'o' },
  session: { type: 'string', short: 's' },
  url: { type: 'string' },
} as const;

export function limitsFrom(values: Values): RunRequest['limits'] {
  const limits: Partial<Record<LimitKey, number>> = {};
  for (const [key, value] of pairs(values, 'limit')) {
    if (!(LIMIT_KEYS as readonly string[]).includes(key)) {
      usage(`--limit ${key}: unknown limit; one of ${LIMIT_KEYS.join(', ')}`);
    }
    if (!/^[0-9]{1,12}$/.test(value)) usage(`--limit ${key}: must be a whole number, got '${value}'`);
    limits[key as LimitKey] = Number(value);
  }
  return Object.keys(limits).length === 0 ? undefined : limits;
}

/** Reads each --file; an unreadable one is a usage error naming it. */
export async function filesFrom(values: Values): Promise<InputFile[]> {
  const files: InputFile[] = [];
  for (const path of list(values, 'file')) {
    try {
      files.push(await readInputFile(path));
    } catch (error) {
      usage(`--file ${path}: ${(error as Error).message}`);
    }
  }
  return files;
}

/** The program text of `airlock run FILE`; an unreadable file is a usage error. */
export async function programFrom(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    usage(`cannot read ${file}: ${(error as Error).message}`);
  }
}

/** --lang, else the language of `file`'s extension; neither is a usage error. */
/** Where a run or a session goes and its limits: --backend, --template and --limit, each only when given. */
export function placementFrom(values: Values): {
  backend?: string;
  template?: string;
  limits?: RunRequest['limits'];
} {
  const placement: { backend?: string; template?: string; limits?: RunRequest['limits'] } = {};
  const backend = optional(values, 'backend');
  if (backend !== undefined) placement.backend = backend;
  const template = optional(values, 'template');
  if (template !== undefined) placement.template = template;
  const limits = limitsFrom(values);
  if (limits !== undefined) placement.limits = limits;
  return placement;
}

export function languageFrom(values: Values, file: string | undefined): string {
  const given = optional(values, 'lang');
  if (given !== undefined) return given;
  const guessed = file === undefined ? undefined : languageOfFile(file);
  if (guessed === undefined) {
    usage(
      file === undefined
        ? '--lang is required when the code comes from the command line or stdin'
        : `cannot tell the language of ${file} from its extension; pass --lang`,
    );
  }
  return guessed;
}

/** The request body from the parsed options; `code` and `stdin` are read by the caller. */
export async function requestFrom(
  values: Values,
  input: { language: string; code: string; stdin: string | undefined; args: string[] },
): Promise<RunRequest> {
  const request: RunRequest = { language: input.language, code: input.code };
  const files = await filesFrom(values);
  if (files.length > 0) request.files = files;
  if (input.stdin !== undefined) request.stdin = input.stdin;
  if (input.args.length > 0) request.args = input.args;
  const env = pairs(values, 'env');
  if (env.length > 0) request.env = Object.fromEntries(env);
  return Object.assign(request, placementFrom(values));
}
