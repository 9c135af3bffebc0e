// Low-level file writes of the audit log: whole writes, durable directory entries, and file system errors
// without the paths they quote. Must never drop a byte of a write silently.

import { type FileHandle, open } from 'node:fs/promises';

/** The file system's error without the path it quotes (`EROFS: read-only file system, open`). */
export function messageOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/ '[^']*'$/, '');
}

export async function writeAll(file: FileHandle, bytes: Buffer): Promise<void> {
  for (let offset = 0; offset < bytes.length; ) {
    const { bytesWritten } = await file.write(bytes, offset, bytes.length - offset);
    offset += bytesWritten;
  }
}

/** Makes a newly created file's directory entry durable. */
export async function syncDirectory(path: string): Promise<void> {
  const directory = await open(path, 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}
