// The code-interpreter tools as a model sees them: names, descriptions and argument schemas. One source for the
// MCP server (services/mcp, which builds them at start-up from the server it talks to: its languages, backends
// and limit ceilings) and for agents that call functions without MCP (tool-schemas.ts, from the protocol's own
// bounds). Descriptions are written for a model: what runs where, what is installed and what is not, the
// limits, what persists, how files get out. Must never advertise a maximum the server would refuse.

import {
  BACKEND_NAMES,
  FIELD_BOUNDS,
  FileInput,
  LANGUAGES,
  type Language,
  LimitsInput,
  limitsWithin,
  type ResolvedLimits,
  SESSION_LANGUAGES,
  SESSION_ON_IDLE,
  type Template,
  TemplateName,
} from '@airlock/protocol';
import { z } from 'zod';
import { FILE_TOOLS } from './file-tools.ts';
import type { Runtime, ServerLimits } from './runtimes.ts';
import { SESSION_STATE_TOOLS } from './session-state-tools.ts';

/** What the tools are built from: the server's runtimes and limits (GET /v1/runtimes). */
export interface ToolCatalog {
  runtimes: readonly Runtime[];
  /** Absent from older servers: the protocol's absolute bounds stand in. */
  limits?: ServerLimits | undefined;
  /** The server's templates (GET /v1/templates); absent or empty: none is described. */
  templates?: readonly Template[] | undefined;
}

/** What is installed for each language, and what is not: the sandbox images' contract. */
const INSTALLED: Record<Language, string> = {
  python:
    'python: CPython 3.11 with numpy, pandas, matplotlib (Agg; figures in sessions come back as images), ' +
    'munkres, requests and pip, plus the standard library; not installed: scipy, scikit-learn, torch. pip ' +
    'installs pure-python packages into the user site (importable in the same run) only from an index the ' +
    "run's egress allowlist names, or from a wheel file put in /work",
  javascript:
    'javascript: in the isolate backend a bare V8 (console, timers, TextEncoder, URL, crypto.getRandomValues, ' +
    'airlock.stdin/args/readFile; no require, process, fs or fetch); on docker/gvisor Node 24 with its ' +
    'built-in modules; no npm packages',
  typescript: 'typescript: as javascript, types stripped before it runs (no type checking)',
  bash: 'bash: GNU coreutils, curl, jq, procps, and python3 with pip as in python; no apt',
  c: 'c: gcc 12 (template gcc; compiled with -O2 -lm, then run; a failed compile ends compile_error)',
  cpp: 'cpp: g++ 12 (template gcc; compiled with -O2, then run)',
  go: 'go: Go 1.19 (template go; go build of main.go, standard library only)',
  rust: 'rust: rustc 1.63 (template rust; rustc -O of main.rs, no crates)',
  java: 'java: OpenJDK 17 (template java; javac Main.java, then java Main)',
  ruby: 'ruby: Ruby 3.1 (template ruby; standard library only)',
  php: 'php: PHP 8.2 CLI (template php)',
};

const SessionId = z.string().min(1).max(64).describe('The id returned by create_session (ses_…).');

function available(catalog: ToolCatalog | undefined) {
  const runtimes = (catalog?.runtimes ?? []).filter((r) => r.available);
  const languages = LANGUAGES.filter((l) => runtimes.length === 0 || runtimes.some((r) => r.language === l));
  const backends = BACKEND_NAMES.filter(
    (b) => runtimes.length === 0 || runtimes.some((r) => r.backend === b),
  );
  const where = (language: Language) => {
    const on = runtimes.filter((r) => r.language === language).map((r) => r.backend);
    return on.length > 0 ? ` (backends: ${on.join(', ')})` : '';
  };
  return { languages, backends, where };
}

function limitsText(limits: ServerLimits | undefined): string {
  if (!limits) return 'the server defaults unless `limits` asks otherwise within the server ceilings';
  const { defaults: d, ceilings: c } = limits;
  const line = (key: keyof ResolvedLimits, unit: string) => `${key} ${d[key]}${unit} (at most ${c[key]})`;
  return `defaults ${[
    line('wall_time_ms', ' ms'),
    line('cpu_time_ms', ' ms'),
    line('memory_mb', ' MB'),
    line('output_bytes', ' bytes'),
  ].join(', ')}; a tenant policy or the intent token may set lower ceilings`;
}

/** Session languages a template can serve: those of container sessions (JavaScript/TypeScript ones run in the isolate). */
const TEMPLATE_SESSION_LANGUAGES: readonly string[] = ['python'];

/** Packages named in a template's line (the rest are counted). */
const TEMPLATE_PACKAGES_SHOWN = 8;

/**
 * The templates a model may name in `template`, one line each (name, languages, what it is, key packages), for
 * those serving one of `languages`; those that failed or are not built are left out, those building say so.
 */
function templatesText(catalog: ToolCatalog | undefined, languages: readonly string[]): string {
  const usable = (catalog?.templates ?? []).filter(
    (t) => (t.state === 'ready' || t.state === 'building') && t.languages.some((l) => languages.includes(l)),
  );
  if (usable.length === 0) return '';
  const line = (t: Template) => {
    const served = t.languages.filter((l) => languages.includes(l)).join(', ');
    const packages = Object.entries(t.packages);
    const shown = packages
      .slice(0, TEMPLATE_PACKAGES_SHOWN)
      .map(([name, version]) => `${name} ${version}`)
      .join(', ');
    const more =
      packages.length > TEMPLATE_PACKAGES_SHOWN
        ? ` and ${packages.length - TEMPLATE_PACKAGES_SHOWN} more`
        : '';
    return [
      `${t.name} (${served}${t.builtin ? '; the default' : ''}${t.state === 'building' ? '; still building' : ''})`,
      t.description ? `: ${t.description.slice(0, 160)}` : '',
      shown && !t.builtin ? ` [packages: ${shown}${more}]` : '',
    ].join('');
  };
  return `Templates on this server (pass its name as \`template\`): ${usable.map(line).join('; ')}.`;
}

function runCodeDescription(catalog: ToolCatalog | undefined): string {
  const { languages, where } = available(catalog);
  return [
    'Run code in an isolated sandbox and get back its output: outcome, exit code, stdout and stderr; for a',
    'session cell also the value of the last expression, the exception with its traceback, and matplotlib',
    'figures as images. There is no network at all: pip/npm installs, HTTP requests and DNS fail; use only what',
    `is installed. ${languages.map((l) => `${INSTALLED[l]}${where(l)}`).join('. ')}.`,
    'Without session_id every call starts from scratch: nothing (variables, files, installed state) survives it.',
    'python, bash and node-backed javascript run in a container: cwd /work, the input files are there, and',
    'anything the program writes under out/ (the folder /work/out) is returned as an output file (at most 256',
    'files, 16 MiB), e.g. open("out/report.csv", "w"). Files written anywhere else are lost.',
    `Limits: ${limitsText(catalog?.limits)}. A value above a ceiling is refused with an error naming the field`,
    'and the ceiling. A run that fails, times out or exceeds a limit comes back as an error result whose text',
    'names the outcome (error, timeout, memory_limit, output_limit, compile_error, ...) and the output produced so far: fix the',
    'code and call again. A refused call is an error result with an Airlock code and the field at fault.',
    templatesText(catalog, languages),
  ]
    .filter((part) => part !== '')
    .join(' ');
}

function createSessionDescription(catalog: ToolCatalog | undefined): string {
  const { languages } = available(catalog);
  const sessionLanguages = SESSION_LANGUAGES.filter((l) => languages.includes(l));
  return [
    `Start a persistent interpreter session (like a notebook kernel) for ${sessionLanguages.join(', ')} and`,
    'return its session_id. Pass the id to run_code to run cells in it: variables, imports, functions and files',
    'in the working folder persist from one cell to the next; the last expression of a cell is returned as its',
    'value, and matplotlib figures shown or left open at the end of a cell come back as PNG images.',
    'Nothing persists across sessions, and everything is gone once the session closes: on close_session, after',
    'idle_timeout_seconds without a cell (default 300; with on_idle "pause" it is paused instead and the next cell',
    'resumes it), after max_lifetime_seconds (default 1800), or when a cell kills the interpreter (os._exit, out of',
    'memory). A cell that times out is interrupted and the session',
    'usually survives. One cell runs at a time. No network. Close the session with close_session when done.',
    templatesText(
      catalog,
      sessionLanguages.filter((l) => TEMPLATE_SESSION_LANGUAGES.includes(l)),
    ),
  ]
    .filter((part) => part !== '')
    .join(' ');
}

export const CLOSE_SESSION_DESCRIPTION =
  'Close a session created with create_session: its interpreter and files are destroyed at once. ' +
  'Returns the closed session.';

export const SNAPSHOT_SESSION_DESCRIPTION =
  'Save a snapshot of a session between cells: its interpreter memory (variables, imports, loaded data) and its ' +
  'working folder. The session goes on as before. Returns the snapshot id (snp_…): pass it as from_snapshot to ' +
  'create_session to start new sessions from that point, e.g. to try several continuations or to retry from a ' +
  'known state. Python sessions on gvisor only; other sessions answer snapshot_unsupported with the reason.';

export const SnapshotSessionInput = z.object({ session_id: SessionId }).strict();

export const LIST_RUNTIMES_DESCRIPTION =
  'List the languages and sandbox backends this Airlock server can run, with versions, and why any is ' +
  'unavailable.';

/** The input schemas of the tools for a server with this catalog. */
function inputSchemas(catalog: ToolCatalog | undefined) {
  const { languages, backends } = available(catalog);
  const limits = catalog?.limits ? limitsWithin(catalog.limits.ceilings) : LimitsInput;
  const languageEnum = z.enum(languages as [Language, ...Language[]]);
  const backendEnum = z
    .enum(['auto', ...backends] as ['auto', ...string[]])
    .describe(
      'Where the code runs: auto (default) picks by language and policy; isolate is a V8 isolate (javascript, ' +
        'typescript), docker a hardened container, gvisor a container under the gVisor kernel. ' +
        `This server offers: ${backends.join(', ')}.`,
    );
  const run = z
    .object({
      language: languageEnum
        .optional()
        .describe(
          'The language of the code: required without session_id; with session_id it may be left out (the ' +
            "session's language), and if given must be the session's.",
        ),
      code: z
        .string()
        .max(FIELD_BOUNDS.codeChars)
        .describe('The program. Print what you want to see: stdout and stderr come back in the result.'),
      files: z
        .array(FileInput)
        .max(FIELD_BOUNDS.files)
        .optional()
        .describe(
          'Input files written to the working folder before the code runs: relative paths of [A-Za-z0-9._-] ' +
            'segments; encoding utf8 (default) or base64 for binary data.',
        ),
      stdin: z
        .string()
        .max(FIELD_BOUNDS.stdinChars)
        .optional()
        .describe('Text given to the program on standard input.'),
      session_id: SessionId.optional().describe(
        'Run as the next cell of this session (create_session): variables, imports and files of earlier cells ' +
          'are still there. Leave out for a fresh, throw-away sandbox.',
      ),
      backend: backendEnum.optional(),
      template: TemplateName.optional().describe(
        'The environment to run in: a template this server has (GET /v1/templates) that serves the language, ' +
          'e.g. one with extra packages. Leave out for the language default. Not with session_id.',
      ),
      limits: limits
        .optional()
        .describe(
          'Optional per-run limits; leave out for the server defaults. In a session cell memory_mb cannot be ' +
            'set: the session has one memory limit, chosen at create_session.',
        ),
    })
    .strict();
  const sessionLanguages = SESSION_LANGUAGES.filter((l) => languages.includes(l));
  const create = z
    .object({
      language: z
        .enum(sessionLanguages as [string, ...string[]])
        .describe('The language of the interpreter (bash has no sessions).'),
      backend: backendEnum.optional(),
      template: TemplateName.optional().describe(
        'The environment the session starts in: a template this server has (GET /v1/templates) that serves ' +
          'the language, e.g. one with extra packages; its cells see its files and packages. Templates run in ' +
          'containers (python sessions). Leave out for the language default.',
      ),
      limits: limits
        .optional()
        .describe(
          'Per-cell defaults (wall_time_ms, cpu_time_ms, output_bytes); memory_mb bounds the whole session. ' +
            'Leave out for the server defaults.',
        ),
      from_snapshot: z
        .string()
        .max(64)
        .optional()
        .describe(
          'Start the session from a snapshot (snapshot_session): its variables, imports and files as they were ' +
            'when it was taken (a fork: the snapshotted session is untouched, and several sessions may start ' +
            'from one snapshot). Same language and backend as the snapshot; no template.',
        ),
      idle_timeout_seconds: z
        .number()
        .int()
        .min(1)
        .optional()
        .describe('Close the session after this many seconds without a cell. Default 300.'),
      max_lifetime_seconds: z
        .number()
        .int()
        .min(1)
        .optional()
        .describe('Close the session this many seconds after it was created, however busy. Default 1800.'),
      on_idle: z
        .enum(SESSION_ON_IDLE)
        .optional()
        .describe(
          'What the idle timeout does: close (the default on most servers) or pause — its memory and files are ' +
            'saved, its sandbox freed, and the next run_code resumes it. pause needs a python session on gvisor.',
        ),
      resume_on_worker_loss: z
        .boolean()
        .optional()
        .describe(
          'Servers scaled out on NATS: if the worker holding the session is lost, the next run_code resumes it ' +
            'on another worker from its latest snapshot (snapshot_session), with its state as of that ' +
            'snapshot; without this (or without a snapshot) the session ends (worker_lost). Default false.',
        ),
    })
    .strict();
  return { run, create };
}

export interface ToolDefinition {
  name: string;
  description: string;
  /** The zod schema of the arguments (what the MCP server validates with). */
  input: z.ZodObject;
}

export const CloseSessionInput = z.object({ session_id: SessionId }).strict();
export const ListRuntimesInput = z.object({}).strict();

/** The tools for a server with this catalog; without one, for the protocol's absolute bounds. */
export function toolDefinitions(catalog?: ToolCatalog) {
  const { run, create } = inputSchemas(catalog);
  return {
    run_code: { name: 'run_code', description: runCodeDescription(catalog), input: run },
    create_session: { name: 'create_session', description: createSessionDescription(catalog), input: create },
    close_session: {
      name: 'close_session',
      description: CLOSE_SESSION_DESCRIPTION,
      input: CloseSessionInput,
    },
    snapshot_session: {
      name: 'snapshot_session',
      description: SNAPSHOT_SESSION_DESCRIPTION,
      input: SnapshotSessionInput,
    },
    list_runtimes: {
      name: 'list_runtimes',
      description: LIST_RUNTIMES_DESCRIPTION,
      input: ListRuntimesInput,
    },
    ...SESSION_STATE_TOOLS,
    ...FILE_TOOLS,
  } as const satisfies Record<string, ToolDefinition>;
}

export type ToolDefinitions = ReturnType<typeof toolDefinitions>;

/** The tools with the protocol's absolute bounds, every language and backend (for function calling). */
export const TOOL_DEFINITIONS: ToolDefinitions = toolDefinitions();

export const RunCodeInput = TOOL_DEFINITIONS.run_code.input;
export const CreateSessionInput = TOOL_DEFINITIONS.create_session.input;

export type RunCodeInput = z.infer<typeof RunCodeInput>;
export type CreateSessionInput = z.infer<typeof CreateSessionInput>;
export type CloseSessionInput = z.infer<typeof CloseSessionInput>;
export type SnapshotSessionInput = z.infer<typeof SnapshotSessionInput>;
