// Builds the one ustar archive a sandbox container reads on stdin (sandbox-images/CONTRACT.md "The job"):
// meta/argv, meta/nonce, meta/stdin, meta/outputs, meta/cpu_ms, meta/wall_ms, meta/next (a compile step: the
// program's job follows on the same stream) and the job's files under work/.
// It must never emit anything the runner refuses (pax or long-name headers, links, absolute or `..` names):
// a job that cannot be expressed is refused here, before any container sees it. A program with a `workdir`
// (a template's folder under /work) gets its files there and runs there: `/bin/sh` changes into it and execs
// the argv (the runner itself always starts in /work; the folder is a positional parameter, never code).

import { randomBytes } from 'node:crypto';
import type { Language } from '@airlock/protocol';
import { pack } from 'tar-stream';
import type { SandboxJob } from '../sandbox.ts';
import { isBuiltinLanguage, LANGUAGE_PROGRAMS, type LanguageProgram } from './images.ts';

export interface OutputCaps {
  /** Most output files returned. @default 256 */
  maxFiles: number;
  /** Most output-file bytes returned. @default 16 MiB */
  maxBytes: number;
}

export interface JobArchive {
  archive: Buffer;
  nonce: string;
}

/** Thrown for a job the sandbox cannot take as it is; the message is safe to show the caller. */
export class JobRefused extends Error {
  override name = 'JobRefused';
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The program file and argv a job runs with: its language's default image's, or its template's. */
export type JobProgram = Pick<LanguageProgram, 'file' | 'argv'> & {
  /** A folder under /work the files go to and the program runs in; absent: /work itself. */
  workdir?: string | undefined;
};

const WORK_DIR = '/work';
/** Runs "$@" in the folder "$0"; the folder is data, never part of the script. */
const IN_WORKDIR = 'cd "$0" && exec "$@"';

export async function buildJobArchive(
  job: SandboxJob,
  caps: OutputCaps,
  program: JobProgram = builtinProgram(job.language),
  step: {
    /** false for the program after a compile step: its files are already in /work (the runner never overwrites). */
    withWork?: boolean;
    /** A compile step: the runner reads the program's job after this one's end markers. */
    next?: boolean;
  } = {},
): Promise<JobArchive> {
  const { withWork = true, next = false } = step;
  const nonce = randomBytes(24).toString('hex');
  const folder = workFolder(program.workdir);
  const inFolder = folder === '' ? [] : ['/bin/sh', '-c', IN_WORKDIR, `${WORK_DIR}/${folder.slice(0, -1)}`];
  const argv = [...inFolder, ...envPrefix(job.env), ...program.argv, ...job.args];
  if (argv.some((arg) => arg.includes('\0')))
    throw new JobRefused('arguments must not contain NUL characters');

  const entries: Array<{ name: string; body: Buffer }> = [
    { name: 'meta/nonce', body: Buffer.from(nonce) },
    { name: 'meta/argv', body: Buffer.from(`${argv.join('\0')}\0`) },
    { name: 'meta/outputs', body: Buffer.from(`${caps.maxFiles} ${caps.maxBytes}`) },
    { name: 'meta/cpu_ms', body: Buffer.from(String(job.limits.cpu_time_ms)) },
    // The runner ends the job itself shortly after this, so it cannot outlive a service that died.
    { name: 'meta/wall_ms', body: Buffer.from(String(job.limits.wall_time_ms)) },
    { name: 'meta/stdin', body: Buffer.from(job.stdin, 'utf8') },
    ...(next ? [{ name: 'meta/next', body: Buffer.alloc(0) }] : []),
  ];
  for (const file of job.files) {
    if (file.path === program.file) throw new JobRefused(`files: ${file.path} is the program file itself`);
    if (withWork) entries.push({ name: `work/${folder}${file.path}`, body: Buffer.from(file.content) });
  }
  if (withWork) entries.push({ name: `work/${folder}${program.file}`, body: Buffer.from(job.code, 'utf8') });

  const tar = pack();
  const chunks: Buffer[] = [];
  tar.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    tar.on('end', resolve);
    tar.on('error', reject);
  });
  for (const { name, body } of entries) {
    if (!fitsUstar(name) || name.split('/').some((s) => s === '..' || s === '')) {
      throw new JobRefused(`files: ${JSON.stringify(name.slice(5))} cannot be given to the sandbox`);
    }
    tar.entry({ name, size: body.length, mode: 0o644, type: 'file', mtime: new Date(0) }, body);
  }
  tar.finalize();
  await done;
  return { archive: Buffer.concat(chunks), nonce };
}

/** The workdir relative to /work with a trailing slash ('' for /work); anything else is refused. */
function workFolder(workdir: string | undefined): string {
  if (workdir === undefined || workdir === WORK_DIR) return '';
  const rest = workdir.startsWith(`${WORK_DIR}/`) ? workdir.slice(WORK_DIR.length + 1) : '';
  if (rest === '' || rest.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    throw new JobRefused(`workdir ${JSON.stringify(workdir)} is not a folder under ${WORK_DIR}`);
  }
  return `${rest}/`;
}

function builtinProgram(language: Language): JobProgram {
  if (!isBuiltinLanguage(language)) throw new JobRefused(`${language} runs in a template only`);
  return LANGUAGE_PROGRAMS[language];
}

/** `env -- NAME=VALUE…` in front of the program: how request variables reach a pre-started container. */
function envPrefix(env: Record<string, string>): string[] {
  const pairs = Object.entries(env);
  if (pairs.length === 0) return [];
  for (const [name] of pairs) {
    if (!ENV_NAME.test(name))
      throw new JobRefused(`env: ${JSON.stringify(name)} is not a plain variable name`);
  }
  return ['env', '--', ...pairs.map(([name, value]) => `${name}=${value}`)];
}

/** Whether an ASCII name fits a plain ustar header (100 bytes, or a 155-byte prefix split at a slash). */
function fitsUstar(name: string): boolean {
  const bytes = Buffer.byteLength(name);
  if (bytes !== name.length) return false; // tar-stream writes non-ASCII names as pax headers
  if (bytes <= 100) return true;
  for (let i = name.indexOf('/'); i > 0; i = name.indexOf('/', i + 1)) {
    if (Buffer.byteLength(name.slice(0, i)) <= 155 && Buffer.byteLength(name.slice(i + 1)) <= 100)
      return true;
  }
  return false;
}
