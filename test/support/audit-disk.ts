// A small real disk for a test file's audit log: a 1 MiB tmpfs mounted before the file's service starts and
// unmounted after it is gone (register it before the service), so a test can fill it, free it or make it
// read-only under a running service.

import { join } from 'node:path';
import { mountTmpfs, type TmpfsMount } from '@airlock/testing';
import { afterAll, beforeAll } from 'vitest';

/** Mounts the disk for the calling test file; getters of the disk and of the audit log `fileName` on it. */
export function useAuditDisk(fileName: string): { disk: () => TmpfsMount; auditPath: () => string } {
  let mount: TmpfsMount | undefined;
  beforeAll(async () => {
    mount = await mountTmpfs(1024 * 1024);
  });
  afterAll(async () => {
    await mount?.unmount();
  });
  const disk = () => {
    if (!mount) throw new Error('the audit disk is not mounted (use it inside a test or a later hook)');
    return mount;
  };
  return { disk, auditPath: () => join(disk().path, fileName) };
}
