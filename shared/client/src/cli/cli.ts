// The `airlock` command: dispatches to its commands (each loaded only when used), and turns any failure into a
// message and an exit code (report.ts, exit-codes.ts). Reads nothing from `process`: main.ts passes it all in.

import { UsageError } from './args.ts';
import type { CliContext } from './context.ts';
import { exitCodeHelp } from './exit-codes.ts';
import { reportFailure } from './report.ts';

type Command = (args: string[], context: CliContext) => Promise<number>;

interface CommandEntry {
  summary: string;
  load: () => Promise<Command>;
}

const COMMANDS: Record<string, CommandEntry> = {
  run: {
    summary: 'run FILE [options] [-- ARGS]     run a program file, stream its output, save its out/ files',
    load: async () => (await import('./run.ts')).run,
  },
  exec: {
    summary: 'exec CODE|- --lang LANG [options] run code given inline or on stdin (-)',
    load: async () => (await import('./run.ts')).exec,
  },
  sessions: {
    summary: 'sessions create|get|close …      interpreter sessions (run cells with run --session ID)',
    load: async () => (await import('./sessions.ts')).sessions,
  },
  runtimes: {
    summary: 'runtimes                          languages and backends the server can run',
    load: async () => (await import('./runtimes.ts')).runtimes,
  },
  token: {
    summary: 'token keys|mint …                 development signing keys and intent tokens',
    load: async () => (await import('./token.ts')).token,
  },
  audit: {
    summary: 'audit verify FILE                 check an audit log’s hash chain',
    load: async () => (await import('./audit.ts')).audit,
  },
};

export function helpText(): string {
  const commands = Object.values(COMMANDS)
    .map((c) => `  airlock ${c.summary}`)
    .join('\n');
  return `usage: airlock COMMAND [options]   (airlock COMMAND --help for its options)

${commands}

environment:
  AIRLOCK_URL     the Airlock server (default http://127.0.0.1:8080; --url overrides it)
  AIRLOCK_TOKEN   the intent token (leave unset for a server in local development mode)
  NO_COLOR        no colour on a terminal (progress and colour are only ever written to a terminal)

exit status of run and exec:
${exitCodeHelp()}`;
}

/** Runs the command line `argv` (without the program name) and returns the exit code. */
export async function runCli(argv: string[], context: CliContext): Promise<number> {
  const [name, ...rest] = argv;
  const json = rest.includes('--json');
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    context.terminal.stdout(`${helpText()}\n`);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    context.terminal.stdout(`${context.version}\n`);
    return 0;
  }
  const entry = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (entry === undefined) {
    return reportFailure(
      context,
      new UsageError(`unknown command '${name}'`),
      json,
      'airlock help lists them',
    );
  }
  const command = await entry.load();
  try {
    return await command(rest, context);
  } catch (error) {
    if (context.interrupted.aborted && isAbort(error)) return 130;
    return reportFailure(context, error, json, `airlock ${name} --help shows the usage`);
  }
}

function isAbort(error: unknown): boolean {
  return (error as { code?: unknown })?.code === 'aborted';
}
