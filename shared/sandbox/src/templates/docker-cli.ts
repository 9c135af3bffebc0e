// Runs the docker CLI (and other build tools) for the template builder, passing every output line to a
// progress callback as it arrives and keeping the tail for the error message. Arguments are an argv, never a
// shell string: a package name reaches apt-get or npm as one word.

import { spawn } from 'node:child_process';

export interface ToolRun {
  code: number;
  /** The last lines of stdout and stderr together. */
  tail: string[];
  stdout: string;
}

export function runTool(
  command: string,
  args: readonly string[],
  options: { onLine?: (line: string) => void; input?: Buffer; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: [options.input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      env: options.env ?? process.env,
      cwd: options.cwd,
    });
    const tail: string[] = [];
    let stdout = '';
    const lines = (chunk: Buffer, keep: boolean) => {
      const text = chunk.toString('utf8');
      if (keep) stdout += text;
      for (const line of text.split('\n')) {
        if (line.trim() === '') continue;
        tail.push(line);
        if (tail.length > 40) tail.shift();
        options.onLine?.(line);
      }
    };
    child.stdout?.on('data', (c: Buffer) => lines(c, true));
    child.stderr?.on('data', (c: Buffer) => lines(c, false));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, tail, stdout }));
    if (options.input) child.stdin?.end(options.input);
  });
}
