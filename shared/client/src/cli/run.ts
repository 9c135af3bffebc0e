// `airlock run FILE` and `airlock exec CODE|-`: submit a program (or a session cell), follow it, save its output
// files, and exit with the program's exit code or the outcome's (exit-codes.ts).

import type { Execution, ExecutionRequestInput } from '@airlock/protocol';
import type { AirlockClient } from '../client.ts';
import { optional, parse, usage, type Values } from './args.ts';
import { type CliContext, clientFor, printJson, readStdin } from './context.ts';
import { exitCodeOf } from './exit-codes.ts';
import { follow } from './follow.ts';
import { saveOutputs } from './outputs.ts';
import { filesFrom, languageFrom, limitsFrom, programFrom, RUN_OPTIONS, requestFrom } from './request.ts';

const OPTIONS_HELP = `options:
  -l, --lang LANG        python, javascript, typescript or bash (default: from the file's extension)
  -b, --backend NAME     auto, isolate, docker or gvisor (default: auto)
  -t, --template NAME    the sandbox template (passed to the server as given)
      --stdin            send what this command reads on stdin to the program's stdin
  -f, --file PATH        an input file for the working folder (repeatable; a relative path is kept)
      --limit KEY=N      wall_time_ms, cpu_time_ms, memory_mb or output_bytes (repeatable)
  -e, --env NAME=VALUE   a plain environment variable for the program (repeatable)
  -o, --out DIR          where files the program wrote under out/ are saved (default: out)
  -s, --session ID       run as the next cell of this session (see airlock sessions)
      --url URL          the Airlock server (default: AIRLOCK_URL, else http://127.0.0.1:8080)
      --json             print the finished execution as JSON instead of the program's output
  ARGS after the file (or after --) are the program's arguments.`;

const RUN_USAGE = `usage: airlock run FILE [options] [--] [ARGS…]\n${OPTIONS_HELP}`;
const EXEC_USAGE = `usage: airlock exec CODE|- --lang LANG [options] [--] [ARGS…]   (- reads the code from stdin)\n${OPTIONS_HELP}`;

export async function run(args: string[], context: CliContext): Promise<number> {
  const { values, positionals } = parse(args, RUN_OPTIONS);
  if (values.help) return help(context, RUN_USAGE);
  const [file, ...programArgs] = positionals;
  if (file === undefined) usage('FILE is required');
  const code = await programFrom(file);
  return submitAndFollow(context, values, targetOf(values, file), { code, args: programArgs });
}

export async function exec(args: string[], context: CliContext): Promise<number> {
  const { values, positionals } = parse(args, RUN_OPTIONS);
  if (values.help) return help(context, EXEC_USAGE);
  const [source, ...programArgs] = positionals;
  if (source === undefined) usage('CODE (or - for stdin) is required');
  if (source === '-' && values.stdin) usage('--stdin cannot be used when the code itself comes from stdin');
  const target = targetOf(values, undefined);
  const code = source === '-' ? await readStdin(context) : source;
  return submitAndFollow(context, values, target, { code, args: programArgs });
}

/** Where the code runs: a fresh sandbox for its language, or the next cell of a session. */
type Target = { language: string } | { session: string };

function targetOf(values: Values, file: string | undefined): Target {
  const session = optional(values, 'session');
  return session === undefined ? { language: languageFrom(values, file) } : { session };
}

function help(context: CliContext, text: string): number {
  context.terminal.stdout(`${text}\n`);
  return 0;
}

async function submitAndFollow(
  context: CliContext,
  values: Values,
  target: Target,
  input: { code: string; args: string[] },
): Promise<number> {
  const client = clientFor(context, optional(values, 'url'));
  const stdin = values.stdin ? await readStdin(context) : undefined;
  const execution =
    'session' in target
      ? await runCell(client, context, values, target.session, { ...input, stdin })
      : await runOnce(client, context, values, { ...input, language: target.language, stdin });
  return finish(context, values, execution);
}

async function runOnce(
  client: AirlockClient,
  context: CliContext,
  values: Values,
  input: { language: string; code: string; args: string[]; stdin: string | undefined },
): Promise<Execution> {
  const request = await requestFrom(values, input);
  // The server validates the language, backend and template and names the field it refuses.
  const { execution } = await client.submit(request as ExecutionRequestInput);
  context.terminal.note(`${execution.id} submitted: ${execution.language} on ${execution.backend}`);
  return follow(client, context, execution, { echo: !values.json });
}

async function runCell(
  client: AirlockClient,
  context: CliContext,
  values: Values,
  session: string,
  input: { code: string; stdin: string | undefined; args: string[] },
): Promise<Execution> {
  for (const name of ['lang', 'backend', 'template', 'env'] as const) {
    if (values[name] !== undefined)
      usage(`--${name} does not apply to a session cell (the session has its own)`);
  }
  if (input.args.length > 0) usage('a session cell takes no program arguments');
  const limits = limitsFrom(values);
  const files = await filesFrom(values);
  context.terminal.note(`running a cell in ${session}…`);
  const cell = await client.runCell(
    session,
    {
      code: input.code,
      ...(files.length > 0 ? { files } : {}),
      ...(input.stdin === undefined ? {} : { stdin: input.stdin }),
      ...(limits === undefined ? {} : { limits }),
    },
    { signal: context.interrupted },
  );
  if (!values.json) {
    context.terminal.stdout(cell.result?.stdout ?? '');
    context.terminal.stderr(cell.result?.stderr ?? '');
    const value = cell.result?.value?.['text/plain'];
    if (value !== undefined) context.terminal.stdout(`${value}\n`);
  }
  return cell;
}

async function finish(context: CliContext, values: Values, execution: Execution): Promise<number> {
  const { terminal } = context;
  const saved = await saveOutputs(execution, optional(values, 'out') ?? 'out');
  if (values.json) printJson(context, execution);
  for (const file of saved) terminal.note(`saved ${file.path} (${file.size} bytes)`);
  const result = execution.result;
  const code = exitCodeOf(execution);
  if (result === null) {
    terminal.message(`airlock: ${execution.id} has no result`, 'red');
  } else if (result.outcome === 'success') {
    terminal.note(`✓ success in ${Math.round(result.usage.wall_ms)} ms (${execution.id})`, 'green');
  } else if (result.outcome === 'error') {
    // The program's own stderr says why; the exit code carries its status.
    terminal.note(
      `✗ error, exit code ${result.exit_code ?? '-'}${result.signal ? `, ${result.signal}` : ''} (${execution.id})`,
      'red',
    );
  } else if (!values.json) {
    const exit = result.exit_code === null ? '' : `, exit code ${result.exit_code}`;
    const signal = result.signal === null ? '' : `, signal ${result.signal}`;
    const reason = result.reason === null ? '' : `: ${result.reason}`;
    terminal.message(`airlock: ${result.outcome}${exit}${signal}${reason} (${execution.id})`, 'red');
  }
  return code;
}
