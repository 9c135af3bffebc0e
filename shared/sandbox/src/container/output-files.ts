// Reads the runner's archive of /work/out (hostile: the program chose every name) into result files, in memory.
// Only regular files come back; directories are implied by paths. It must never touch the host file system,
// follow or create a link, or accept an absolute name or a `..` segment.

import { Readable } from 'node:stream';
import type { OutputFile } from '@airlock/protocol';
import { extract } from 'tar-stream';

export interface OutputFilesResult {
  files: OutputFile[];
  /** Entries that were not regular files or had unsafe names. */
  refused: number;
}

export async function readOutputFiles(archive: Buffer, maxBytes: number): Promise<OutputFilesResult> {
  const files: OutputFile[] = [];
  let refused = 0;
  let total = 0;
  if (archive.length === 0) return { files, refused };
  const entries = extract();
  Readable.from([archive]).pipe(entries);
  for await (const entry of entries) {
    const { name, type, size = 0 } = entry.header;
    const path = safeRelativePath(name);
    if (type !== 'file' || path === null || total + size > maxBytes) {
      if (type !== 'directory' || path === null) refused++;
      entry.resume();
      continue;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    const content = Buffer.concat(chunks);
    total += content.length;
    files.push({ path, size: content.length, encoding: 'base64', content: content.toString('base64') });
  }
  return { files, refused };
}

/** `a/b.txt` for a safe relative name; null for absolute names, `..`, NUL or control characters. */
export function safeRelativePath(name: string): string | null {
  if (name.startsWith('/') || name.includes('\\') || /[\u0000-\u001f]/.test(name)) return null;
  const segments = name.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.length === 0 || segments.some((s) => s === '..')) return null;
  return segments.join('/');
}
