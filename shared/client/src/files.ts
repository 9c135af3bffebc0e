// Files in and out of a run: input files from text, bytes or a local path (bytes travel as base64), the bytes of
// an output file, and writing a run's output files under a local folder. Output paths are chosen by the
// sandboxed program: they must never lead a write outside the folder they are written to.

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path';
import type { OutputFile } from '@airlock/protocol';

/** An input file as the request carries it: `utf8` text or `base64` bytes. */
export interface InputFile {
  path: string;
  content: string;
  encoding?: 'utf8' | 'base64';
}

/** An input file at `path` in the sandbox's working folder: a string is sent as text, bytes as base64. */
export function inputFile(path: string, content: string | Uint8Array): InputFile {
  if (typeof content === 'string') return { path, content, encoding: 'utf8' };
  return { path, content: Buffer.from(content).toString('base64'), encoding: 'base64' };
}

/**
 * Reads a local file as an input file. Its sandbox path is `sandboxPath`, else the local path when that is
 * relative and stays below the current folder (`data/a.csv`), else the file's name (`/tmp/a.csv` → `a.csv`).
 */
export async function readInputFile(localPath: string, sandboxPath?: string): Promise<InputFile> {
  const bytes = await readFile(localPath);
  return inputFile(sandboxPath ?? defaultSandboxPath(localPath), bytes);
}

function defaultSandboxPath(localPath: string): string {
  const segments = localPath.split(/[/\\]+/).filter((s) => s !== '' && s !== '.');
  if (isAbsolute(localPath) || segments.includes('..') || segments.length === 0) return basename(localPath);
  return segments.join('/');
}

/** The bytes of an output file. */
export function outputFileBytes(file: OutputFile): Uint8Array {
  return Buffer.from(file.content, 'base64');
}

/** The local path an output file goes to under `dir`, or undefined when its path would leave `dir`. */
export function outputFilePath(dir: string, path: string): string | undefined {
  const segments = path.split('/');
  const bad = (s: string) => s === '' || s === '.' || s === '..' || s.includes('\\') || s.includes('\0');
  if (segments.some(bad)) return undefined;
  const root = resolve(dir);
  const target = resolve(join(root, ...segments));
  return target.startsWith(root + sep) ? target : undefined;
}

/**
 * Writes output files under `dir` (created as needed), replacing files of the same name, and returns the paths
 * written. A file whose path is absolute or climbs out of `dir` is refused with an error before anything is
 * written.
 */
export async function writeOutputFiles(files: readonly OutputFile[], dir: string): Promise<string[]> {
  const targets = files.map((file) => {
    const target = outputFilePath(dir, file.path);
    if (target === undefined) throw new Error(`refusing to write output file '${file.path}' outside ${dir}`);
    return target;
  });
  const written: string[] = [];
  for (const [i, file] of files.entries()) {
    const target = targets[i]!;
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, outputFileBytes(file));
    written.push(target);
  }
  return written;
}
