// A small tmpfs mounted for a test: a real file system the test can fill up, free again, or turn read-only,
// to show how a component behaves when its disk refuses writes. Needs root (mount); fails loudly without it.
// Must never touch anything outside the directory it created, and always unmounts it on dispose.

import { execFile } from 'node:child_process';
import { mkdtemp, open, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const FILLER = '.filler';
/** Remount attempts while the kernel says busy (50 ms apart). */
const READ_ONLY_ATTEMPTS = 40;

export interface TmpfsMount extends AsyncDisposable {
  /** The mount point. */
  readonly path: string;
  /** Writes a filler file until the file system is full (ENOSPC). */
  fill(): Promise<void>;
  /** Removes the filler file: the space is free again. */
  free(): Promise<void>;
  /**
   * Remounts read-only (`mount -o remount,ro`), or read-write again. The kernel refuses while a file on it is
   * open for writing (a write that is just finishing): that is retried for a bounded while.
   */
  readOnly(): Promise<void>;
  readWrite(): Promise<void>;
  /** Unmounts (lazily if something still holds a file open) and removes the mount point. */
  unmount(): Promise<void>;
}

export async function mountTmpfs(sizeBytes: number): Promise<TmpfsMount> {
  if (process.getuid?.() !== 0) {
    throw new Error('mountTmpfs needs root (it runs mount -t tmpfs); run the tests as root');
  }
  const path = await mkdtemp(join(tmpdir(), 'airlock-tmpfs-'));
  try {
    await exec('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0700`, 'tmpfs', path]);
  } catch (error) {
    await rmdir(path).catch(() => {});
    throw new Error(`mount -t tmpfs failed: ${(error as Error).message}`);
  }
  let mounted = true;
  const unmount = async () => {
    if (!mounted) return;
    mounted = false;
    await exec('umount', [path]).catch(() => exec('umount', ['-l', path]));
    await rmdir(path);
  };
  return {
    path,
    async fill() {
      const file = await open(join(path, FILLER), 'a');
      try {
        const chunk = Buffer.alloc(4096, 0x2e);
        for (;;) await file.write(chunk);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
      } finally {
        await file.close();
      }
    },
    async free() {
      await rm(join(path, FILLER), { force: true });
    },
    async readOnly() {
      for (let attempt = 1; ; attempt++) {
        try {
          await exec('mount', ['-o', 'remount,ro', path]);
          return;
        } catch (error) {
          if (attempt === READ_ONLY_ATTEMPTS || !/busy/.test((error as Error).message)) throw error;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    },
    async readWrite() {
      await exec('mount', ['-o', 'remount,rw', path]);
    },
    unmount,
    [Symbol.asyncDispose]: unmount,
  };
}
