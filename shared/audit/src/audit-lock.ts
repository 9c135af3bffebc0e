// One writer per audit file across processes: a scaled-out deployment gives each gateway and worker process
// its own hash-chained log, and this lock (`<log>.lock`, holding the owner's pid) refuses a second process
// on the same file (and this process, a second lock on a file it holds). A lock left by a process that no
// longer runs is taken over.
// Must never remove a lock held by a live process.

import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

export class AuditLockError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuditLockError';
  }
}

export interface AuditLock {
  readonly path: string;
  release(): Promise<void>;
}

/** Lock files this process holds. */
const heldHere = new Set<string>();

/** Takes `<logPath>.lock` for this process; throws AuditLockError if a live process (or this one) holds it. */
export async function lockAuditLog(logPath: string): Promise<AuditLock> {
  const path = resolve(`${logPath}.lock`);
  if (heldHere.has(path)) {
    throw new AuditLockError(`audit log ${logPath} is already in use in this process`);
  }
  heldHere.add(path);
  try {
    return await takeLock(logPath, path);
  } catch (error) {
    heldHere.delete(path);
    throw error;
  }
}

async function takeLock(logPath: string, path: string): Promise<AuditLock> {
  await mkdir(dirname(path), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const file = await open(path, 'wx', 0o600);
      await file.writeFile(`${process.pid}\n`);
      await file.close();
      let released: Promise<void> | undefined;
      return {
        path,
        release: () => {
          released ??= (async () => {
            if ((await ownerOf(path)) === process.pid) await rm(path, { force: true });
            heldHere.delete(path);
          })();
          return released;
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = await ownerOf(path);
      if (owner !== undefined && owner !== process.pid && isAlive(owner)) {
        throw new AuditLockError(
          `audit log ${logPath} is in use by process ${owner}; give each process its own AIRLOCK_AUDIT_LOG`,
        );
      }
      await rm(path, { force: true }); // left by a process that is gone
    }
  }
  throw new AuditLockError(`audit log ${logPath}: could not take ${path}`);
}

async function ownerOf(path: string): Promise<number | undefined> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const pid = Number.parseInt(text, 10);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
