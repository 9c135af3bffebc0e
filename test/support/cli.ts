// Runs the `airlock` command as a user would: a real child process (`node shared/client/src/cli/main.ts`, or a
// packed `airlock` bin), with its stdin, environment and working folder; without a terminal (pipes), or on a
// pseudo-terminal made by util-linux `script`. Each call resolves with the exit code and what was written.

import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI_MAIN = join(REPO_ROOT, 'shared', 'client', 'src', 'cli', 'main.ts');

/** Any ANSI escape sequence (colour, cursor movement). */
export const ANSI = /\u001b\[/;

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Variables on top of a clean environment (PATH with Node 24 first, HOME, and nothing of AIRLOCK_*). */
  env?: Record<string, string>;
  cwd?: string;
  /** Written to the command's stdin, which is then closed. */
  stdin?: string;
  /** The command to run instead of `node CLI_MAIN` (e.g. a packed bin): [file, ...leading args]. */
  command?: string[];
  /** Called once the process is spawned (e.g. to send it SIGINT later). */
  onSpawn?: (child: ChildProcess) => void;
}

/** An environment with Node 24 first on PATH and no AIRLOCK_* variable of the test process. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
    HOME: process.env.HOME ?? '/root',
    ...extra,
  };
}

/** Runs `airlock ARGS…` with pipes for stdin, stdout and stderr (no terminal). */
export function airlock(args: string[], options: CliOptions = {}): Promise<CliRun> {
  const [file, ...lead] = options.command ?? [process.execPath, CLI_MAIN];
  return new Promise((resolve, reject) => {
    const child = spawn(file!, [...lead, ...args], {
      cwd: options.cwd ?? REPO_ROOT,
      env: cleanEnv(options.env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
    options.onSpawn?.(child);
  });
}

function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * Runs `airlock ARGS…` on a pseudo-terminal (`script -qec`), so stdout and stderr are a TTY. Resolves with the
 * exit code and everything the terminal showed (both streams, with the terminal's CRLF line ends).
 */
export async function airlockOnTerminal(args: string[], options: CliOptions = {}): Promise<CliRun> {
  const command = [...(options.command ?? [process.execPath, CLI_MAIN]), ...args].map(shellQuote).join(' ');
  // `script` copies its own stdin to the terminal; give it none, so the command sees an empty terminal input.
  const run = await airlock(['-qec', command, '/dev/null'], { ...options, command: ['script'], stdin: '' });
  return { ...run, stdout: run.stdout.replaceAll('\r\n', '\n') };
}
