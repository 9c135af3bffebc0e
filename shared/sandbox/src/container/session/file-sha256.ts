// The sha256 of a file, streamed (checkpoint images are megabytes): what a snapshot or a ready-made kernel image
// records when it is made and what is checked before it is restored.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** The hex sha256 of the file at `path`; rejects when it cannot be read. */
export function fileSha256(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}
