// One program run inside a running session container by `docker exec`, as the sandbox uid with the container's
// own limits (the files API's agent, file-agent.ts): its stdin written whole, its stdout collected up to a
// bound, its exit code from dockerd. Used between cells and beside them; it never runs a guest's code. Must
// never hold more than the bound of its output, nor wait past its deadline.

import type Dockerode from 'dockerode';
import { AttachFrameParser } from '../attach-frames.ts';
import { withDeadline } from '../attached-container.ts';
import { SANDBOX_USER } from '../container-spec.ts';

export interface ExecOutcome {
  exitCode: number | null;
  stdout: Buffer;
  /** Its first bytes only (the agent's one-word answer). */
  stderr: string;
  /** True when stdout passed the bound (it was cut, and the program stopped being read). */
  overflow: boolean;
}

export async function execInContainer(
  container: Dockerode.Container,
  command: string[],
  options: { stdin?: Uint8Array; maxStdoutBytes: number; timeoutMs: number },
): Promise<ExecOutcome> {
  const { stdin, maxStdoutBytes, timeoutMs } = options;
  const run = async (): Promise<ExecOutcome> => {
    const exec = await container.exec({
      Cmd: command,
      AttachStdin: stdin !== undefined,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      User: SANDBOX_USER,
      WorkingDir: '/work',
    });
    const stream = await exec.start({ hijack: true, stdin: stdin !== undefined });
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let stderr = '';
    let overflow = false;
    const parser = new AttachFrameParser((kind, payload) => {
      if (kind === 'stderr') {
        if (stderr.length < 256) stderr += payload.toString('utf8').slice(0, 256);
        return;
      }
      if (overflow) return;
      stdoutBytes += payload.length;
      if (stdoutBytes > maxStdoutBytes) {
        overflow = true;
        stream.destroy();
        return;
      }
      stdout.push(Buffer.from(payload));
    });
    const ended = new Promise<void>((resolve) => {
      stream.on('data', (chunk: Buffer) => parser.push(chunk));
      stream.once('end', resolve);
      stream.once('close', resolve);
      stream.once('error', () => resolve());
    });
    if (stdin !== undefined) {
      stream.write(Buffer.from(stdin.buffer, stdin.byteOffset, stdin.byteLength));
    }
    await ended;
    const inspected = overflow ? null : await exec.inspect();
    return {
      exitCode: inspected?.ExitCode ?? null,
      stdout: Buffer.concat(stdout),
      stderr,
      overflow,
    };
  };
  return withDeadline(run(), timeoutMs, 'exec');
}
