// Runs a program to its end from a test and hands back its exit code and output, never throwing for a non-zero
// exit (a test asserts on it), or, for a set-up step, its stdout once it succeeded (any failure throws with
// its output). The caller gives the whole environment: nothing of the test process's own leaks in.

import { execFile } from 'node:child_process';

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** `file args` in `cwd` with exactly `env`; resolves with its exit code (1 when it has none) and output. */
export function runFile(
  file: string,
  args: string[],
  cwd: string,
  env: Record<string, string>,
): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** The stdout of `file args` once it exits 0; throws with its code and output otherwise. */
export async function stdoutOf(
  file: string,
  args: string[],
  cwd: string,
  env: Record<string, string>,
): Promise<string> {
  const result = await runFile(file, args, cwd, env);
  if (result.code !== 0)
    throw new Error(`${file} ${args.join(' ')} failed (${result.code}):\n${result.stdout}${result.stderr}`);
  return result.stdout;
}
