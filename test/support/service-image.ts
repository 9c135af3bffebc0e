// The airlock-service image for the deploy tests: built (or found up to date) by scripts/build-service-image.sh,
// exactly as `npm run image` does, with the build's own output kept so a test can read what it reported.
// Must never build anything else, and never remove an image itself.

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BUILD_SCRIPT = 'scripts/build-service-image.sh';

export interface ServiceImage {
  /** `airlock-service:<hash>`. */
  tag: string;
  /** What the build printed. */
  output: string;
}

/** Builds the image when its inputs changed (minutes), otherwise reports it (seconds). */
export async function buildServiceImage(): Promise<ServiceImage> {
  const built = await run('bash', [BUILD_SCRIPT], {
    cwd: REPO_ROOT,
    maxBuffer: 64 * 1024 * 1024,
  }).catch((error: { stdout?: string; stderr?: string; message: string }) => {
    throw new Error(`${BUILD_SCRIPT} failed: ${error.message}\n${error.stdout ?? ''}\n${error.stderr ?? ''}`);
  });
  const { stdout } = await run('bash', [BUILD_SCRIPT, '--print'], { cwd: REPO_ROOT });
  return { tag: stdout.trim(), output: built.stdout };
}

/** `docker <args>` → stdout. */
export async function docker(args: string[], timeoutMs = 120_000): Promise<string> {
  const { stdout } = await run('docker', args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}
