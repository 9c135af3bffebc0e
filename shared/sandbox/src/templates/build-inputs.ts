// What every template image is built on, found the way scripts/build-images.sh names it: the Debian base
// (`airlock-base:<hash of base/make-rootfs.sh + base/packages.txt>`) and the static runner and statx fallback
// in sandbox-images/.built (`runner-<hash>`, named by their sources and this host's gcc); and the session
// kernel's files (sandbox-images/python), which every template serving python carries.
// It must never build either itself: build-images.sh owns them, and a missing one is reported with that hint.

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface BuildInputs {
  baseTag: string;
  runner: string;
  statxFallback: string;
  runnerHash: string;
  /** The session kernel's files (absolute paths), copied to /opt/airlock in templates serving python. */
  sessionKernel: string[];
  /** Hash of the session kernel's files: part of the hash of a template serving python. */
  kernelHash: string;
}

/** The session kernel: sandbox-images/python/kernel.py and the modules it loads (CONTRACT.md, "Sessions"). */
const SESSION_KERNEL_FILES = ['kernel.py', 'cell_accounting.py', 'cell_interpreter.py'] as const;

export const BUILD_IMAGES_HINT = 'run scripts/build-images.sh (scripts/setup-host.sh runs it)';

const sha12 = (parts: Buffer[]) => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex').slice(0, 12);
};

async function filesOf(dir: string, suffix: string): Promise<Buffer[]> {
  const names = (await readdir(dir)).filter((n) => n.endsWith(suffix)).sort();
  return Promise.all(names.map((n) => readFile(join(dir, n))));
}

export async function findBuildInputs(repoRoot: string): Promise<BuildInputs> {
  const images = join(repoRoot, 'sandbox-images');
  const baseHash = sha12([
    await readFile(join(images, 'base', 'make-rootfs.sh')),
    await readFile(join(images, 'base', 'packages.txt')),
  ]);
  const gcc = (await run('gcc', ['--version'])).stdout.split('\n')[0] ?? '';
  const runnerHash = sha12([
    ...(await filesOf(join(images, 'runner'), '.c')),
    ...(await filesOf(join(images, 'runner'), '.h')),
    ...(await filesOf(join(images, 'shim'), '.c')),
    Buffer.from(`${gcc}\n`),
  ]);
  const runner = join(images, '.built', `runner-${runnerHash}`);
  const statxFallback = join(images, '.built', `statx-fallback-${runnerHash}.so`);
  for (const path of [runner, statxFallback]) {
    try {
      await access(path);
    } catch {
      throw new Error(`${path} is missing; ${BUILD_IMAGES_HINT}`);
    }
  }
  const sessionKernel = SESSION_KERNEL_FILES.map((name) => join(images, 'python', name));
  const kernelHash = sha12(await Promise.all(sessionKernel.map((path) => readFile(path))));
  return {
    baseTag: `airlock-base:${baseHash}`,
    runner,
    statxFallback,
    runnerHash,
    sessionKernel,
    kernelHash,
  };
}
