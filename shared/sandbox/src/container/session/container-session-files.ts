// The files API of a python session container (SessionFiles): each operation is one run of the file agent
// (file-agent.ts) inside the container by `docker exec`, so every file access happens in the sandbox, as the
// sandbox uid, walking /work without following links; the host never opens a path of the guest's. What the
// agent prints is the guest's to forge: sizes are bounded here and listings parsed with zod. Also collects the
// `out/` files a cell wrote, for its result.

import { AirlockError, type OutputFile } from '@airlock/protocol';
import type Dockerode from 'dockerode';
import { z } from 'zod';
import type { SessionFileEntry, SessionFiles } from '../../sandbox.ts';
import { safeRelativePath } from '../output-files.ts';
import { type ExecOutcome, execInContainer } from './container-exec.ts';
import { AGENT_EXIT, type AgentOp, agentCommand } from './file-agent.ts';

const Listing = z
  .object({
    entries: z.array(
      z
        .object({
          name: z.string().max(255),
          type: z.enum(['file', 'directory', 'symlink', 'other']),
          size: z.number().int().nonnegative(),
          mtime_ms: z.number().int(),
        })
        .strict(),
    ),
    truncated: z.boolean(),
  })
  .strict();

const Collected = z
  .object({
    files: z.array(z.object({ path: z.string(), content: z.base64() }).strict()),
    refused: z.number().int().nonnegative(),
  })
  .strict();

export interface OutFilesBounds {
  maxFiles: number;
  maxBytes: number;
}

export class ContainerSessionFiles implements SessionFiles {
  readonly #container: Dockerode.Container;
  readonly #timeoutMs: number;

  constructor(container: Dockerode.Container, timeoutMs: number) {
    this.#container = container;
    this.#timeoutMs = timeoutMs;
  }

  async write(path: string, content: Uint8Array): Promise<void> {
    await this.#run('put', path, content.byteLength, { stdin: content, maxStdoutBytes: 0 });
  }

  async read(path: string, maxBytes: number): Promise<Buffer> {
    return (await this.#run('get', path, maxBytes, { maxStdoutBytes: maxBytes })).stdout;
  }

  async list(path: string, maxEntries: number): Promise<{ entries: SessionFileEntry[]; truncated: boolean }> {
    const outcome = await this.#run('list', path, maxEntries, { maxStdoutBytes: 512 + maxEntries * 512 });
    const listing = parse(Listing, outcome.stdout);
    return {
      entries: listing.entries.slice(0, maxEntries).map((e) => ({
        name: e.name,
        type: e.type,
        size: e.size,
        mtime: new Date(e.mtime_ms).toISOString(),
      })),
      truncated: listing.truncated || listing.entries.length > maxEntries,
    };
  }

  async remove(path: string): Promise<void> {
    await this.#run('delete', path, 0, { maxStdoutBytes: 0 });
  }

  /** The regular files under /work/out modified since `sinceMs` (a cell's output files), within the bounds. */
  async collectOut(sinceMs: number, bounds: OutFilesBounds): Promise<OutputFile[]> {
    const outcome = await this.#run('collect', 'out', sinceMs, {
      maxStdoutBytes: Math.ceil(bounds.maxBytes * 1.4) + bounds.maxFiles * 1024 + 4096,
      extra: [String(bounds.maxBytes)],
    });
    const collected = parse(Collected, outcome.stdout);
    const files: OutputFile[] = [];
    let total = 0;
    for (const file of collected.files) {
      const path = safeRelativePath(file.path);
      const content = Buffer.from(file.content, 'base64');
      if (path === null || files.length >= bounds.maxFiles || total + content.length > bounds.maxBytes)
        continue;
      total += content.length;
      files.push({ path, size: content.length, encoding: 'base64', content: file.content });
    }
    return files;
  }

  async #run(
    op: AgentOp,
    path: string,
    arg: number,
    options: { stdin?: Uint8Array; maxStdoutBytes: number; extra?: string[] },
  ): Promise<ExecOutcome> {
    let outcome: ExecOutcome;
    try {
      outcome = await execInContainer(this.#container, agentCommand(op, path, arg, options.extra), {
        ...(options.stdin ? { stdin: options.stdin } : {}),
        maxStdoutBytes: options.maxStdoutBytes,
        timeoutMs: this.#timeoutMs,
      });
    } catch (error) {
      throw new AirlockError(
        'internal_error',
        `the session's files could not be reached: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    const shown = JSON.stringify(path);
    if (outcome.overflow) throw new AirlockError('payload_too_large', `${shown} is larger than allowed`);
    switch (outcome.exitCode) {
      case AGENT_EXIT.ok:
        return outcome;
      case AGENT_EXIT.missing:
        throw new AirlockError('file_not_found', `no ${shown} in the session's working folder`);
      case AGENT_EXIT.notRegular:
        throw new AirlockError(
          'file_not_regular',
          `${shown} is (or passes through) a link, a folder where a file was meant, or a special file; links are not followed`,
        );
      case AGENT_EXIT.tooLarge:
        throw new AirlockError('payload_too_large', `${shown} is larger than ${arg} bytes`);
      case AGENT_EXIT.noSpace:
        throw new AirlockError(
          'session_storage_full',
          `no room for ${shown} in the session's working folder`,
        );
      default:
        throw new AirlockError(
          'internal_error',
          `the session's file operation failed (exit ${outcome.exitCode}: ${outcome.stderr.slice(0, 80)})`,
        );
    }
  }
}

function parse<T>(schema: z.ZodType<T>, stdout: Buffer): T {
  let value: unknown;
  try {
    value = JSON.parse(stdout.toString('utf8'));
  } catch {
    throw new AirlockError('internal_error', "the session's file listing was not readable");
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success)
    throw new AirlockError('internal_error', "the session's file listing was not readable");
  return parsed.data;
}
