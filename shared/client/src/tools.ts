// The code-interpreter tools as a model sees them: names, descriptions and argument schemas. One source for the
// MCP server (services/mcp) and for agents that call functions without MCP (the JSON Schemas below).
// Descriptions are written for a model: what runs where, the limits, what persists, how files get out.

import { FileInput, FilePath, LANGUAGES, LimitsInput } from '@airlock/protocol';
import { z } from 'zod';
import { SESSION_LANGUAGES } from './session-schemas.ts';

const SessionId = z.string().min(1).max(64).describe('The id returned by create_session (ses_…).');

const Limits = LimitsInput.describe(
  'Optional per-run limits. Leave out for the server defaults (typically 10000 ms wall time, 10000 ms CPU, ' +
    '128 MB memory, 1 MiB of stdout+stderr). A value above the server ceiling is refused with an error naming ' +
    'the field, never silently lowered. In a session cell memory_mb cannot be set: the session has one memory ' +
    'limit, chosen at create_session.',
);

export const RunCodeInput = z
  .object({
    language: z
      .enum(LANGUAGES)
      .describe(
        'python (CPython 3.11 with numpy, pandas, matplotlib), javascript or typescript (V8 isolate, ES module), ' +
          'or bash (coreutils, jq). In a session it must be the session language.',
      ),
    code: z
      .string()
      .max(1_000_000)
      .describe('The program. Print what you want to see: stdout and stderr come back in the result.'),
    files: z
      .array(FileInput)
      .max(100)
      .optional()
      .describe(
        'Input files written to the working folder before the code runs: relative paths of [A-Za-z0-9._-] ' +
          'segments; encoding utf8 (default) or base64 for binary data.',
      ),
    stdin: z.string().max(1_000_000).optional().describe('Text given to the program on standard input.'),
    session_id: SessionId.optional().describe(
      'Run as the next cell of this session (create_session): variables, imports and files of earlier cells ' +
        'are still there. Leave out for a fresh, throw-away sandbox.',
    ),
    limits: Limits.optional(),
  })
  .strict();

export const CreateSessionInput = z
  .object({
    language: z
      .enum(SESSION_LANGUAGES)
      .describe('python (numpy, pandas, matplotlib), javascript or typescript. bash has no sessions.'),
    limits: LimitsInput.optional().describe(
      'Per-cell defaults (wall_time_ms, cpu_time_ms, output_bytes); memory_mb bounds the whole session. ' +
        'Leave out for the server defaults.',
    ),
    idle_timeout_seconds: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe(
        'Close the session after this many seconds without a cell. Default 300; server ceiling typically 3600.',
      ),
    max_lifetime_seconds: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe(
        'Close the session this many seconds after it was created, however busy. Default 1800; server ceiling ' +
          'typically 86400.',
      ),
  })
  .strict();

export const CloseSessionInput = z.object({ session_id: SessionId }).strict();

export const ListRuntimesInput = z.object({}).strict();

/** Largest file upload_file sends and download_file returns (the server may bound it lower). */
export const DOWNLOAD_MAX_BYTES = 4 * 1024 * 1024;

const SessionFilePath = FilePath.describe(
  'Path relative to the session working folder (/work): [A-Za-z0-9._-] segments separated by /, no . or ..',
);
const Encoding = z
  .enum(['utf8', 'base64'])
  .default('utf8')
  .describe('utf8 for text (default), base64 for binary data.');

export const UploadFileInput = z
  .object({
    session_id: SessionId,
    path: SessionFilePath,
    content: z
      .string()
      .max(Math.ceil((DOWNLOAD_MAX_BYTES * 4) / 3) + 4)
      .describe('The file content, as text or base64 (see encoding).'),
    encoding: Encoding,
  })
  .strict();

export const DownloadFileInput = z
  .object({ session_id: SessionId, path: SessionFilePath, encoding: Encoding })
  .strict();

export const UPLOAD_FILE_DESCRIPTION =
  "Write a file into a session's working folder (/work) so later cells can open it by its relative path, " +
  'e.g. data/input.csv (folders are created). Replaces a file of that name. At most 4 MiB; links are never ' +
  'followed. Returns the path, size and sha256.';

export const DOWNLOAD_FILE_DESCRIPTION =
  "Read a file from a session's working folder (/work), e.g. one a cell wrote. utf8 returns it as text; use " +
  'base64 for binary files such as images. At most 4 MiB; links are never followed.';

export const RUN_CODE_DESCRIPTION = [
  'Run code in an isolated sandbox and get back its output: outcome, exit code, stdout and stderr; for a session',
  'cell also the value of the last expression, the exception with its traceback, and matplotlib figures as images.',
  'There is no network at all: pip/npm installs, HTTP requests and DNS fail; use only the preinstalled libraries.',
  'Without session_id every call starts from scratch: nothing (variables, files, installed state) survives it.',
  'javascript/typescript run in a V8 isolate with console, timers, TextEncoder, URL, crypto.getRandomValues and',
  'airlock.stdin / airlock.args / airlock.readFile(path, "utf8") for the input files; there is no require,',
  'process, file system or fetch. python and bash run in a container: cwd /work, the input files are there, and',
  'anything the program writes under out/ (the folder /work/out) is returned as an output file (at most 256 files,',
  '16 MiB), e.g. open("out/report.csv", "w"). Files written anywhere else are lost.',
  'Limits: the server defaults (typically 10 s wall time, 10 s CPU, 128 MB memory, 1 MiB output) unless `limits`',
  'asks otherwise within the server ceilings. A run that fails, times out or exceeds a limit comes back as an',
  'error result whose text names the outcome (error, timeout, memory_limit, output_limit, ...) and the output',
  'produced so far: fix the code and call again.',
].join(' ');

export const CREATE_SESSION_DESCRIPTION = [
  'Start a persistent interpreter session (like a notebook kernel) for python, javascript or typescript and',
  'return its session_id. Pass the id to run_code to run cells in it: variables, imports, functions and files in',
  'the working folder persist from one cell to the next; the last expression of a cell is returned as its value,',
  'and matplotlib figures shown or left open at the end of a cell come back as PNG images.',
  'Nothing persists across sessions, and everything is gone once the session closes: on close_session, after',
  'idle_timeout_seconds without a cell (default 300), after max_lifetime_seconds (default 1800), or when a cell',
  'kills the interpreter (os._exit, out of memory). A cell that times out is interrupted and the session usually',
  'survives. One cell runs at a time. No network. Close the session with close_session when you are done.',
].join(' ');

export const CLOSE_SESSION_DESCRIPTION =
  'Close a session created with create_session: its interpreter and files are destroyed at once. ' +
  'Returns the closed session.';

export const LIST_RUNTIMES_DESCRIPTION =
  'List the languages and sandbox backends this Airlock server can run, with versions, and why any is ' +
  'unavailable.';

export interface ToolDefinition {
  name: string;
  description: string;
  /** The zod schema of the arguments (what the MCP server validates with). */
  input: z.ZodObject;
}

export const TOOL_DEFINITIONS = {
  run_code: { name: 'run_code', description: RUN_CODE_DESCRIPTION, input: RunCodeInput },
  create_session: {
    name: 'create_session',
    description: CREATE_SESSION_DESCRIPTION,
    input: CreateSessionInput,
  },
  close_session: { name: 'close_session', description: CLOSE_SESSION_DESCRIPTION, input: CloseSessionInput },
  upload_file: { name: 'upload_file', description: UPLOAD_FILE_DESCRIPTION, input: UploadFileInput },
  download_file: { name: 'download_file', description: DOWNLOAD_FILE_DESCRIPTION, input: DownloadFileInput },
  list_runtimes: { name: 'list_runtimes', description: LIST_RUNTIMES_DESCRIPTION, input: ListRuntimesInput },
} as const satisfies Record<string, ToolDefinition>;

export type RunCodeInput = z.infer<typeof RunCodeInput>;
export type CreateSessionInput = z.infer<typeof CreateSessionInput>;
export type CloseSessionInput = z.infer<typeof CloseSessionInput>;
export type UploadFileInput = z.infer<typeof UploadFileInput>;
export type DownloadFileInput = z.infer<typeof DownloadFileInput>;
