// What the soak reads of a running service process beyond what @airlock/testing reads of any process (memory,
// file descriptors, owned containers): the bytes its store occupies on disk. Reads only.

import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Bytes of the files in a folder (the store: database and write-ahead log). */
export function folderBytes(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) total += statSync(join(dir, name)).size;
  return total;
}
