// The ready-made kernel images of gVisor python sessions: one per image tag × runtime × memory_mb, under
// `<data dir>/session-ready/<name>/` (folder 0700; checkpoint.img and meta.json 0600). Each is the checkpoint of
// a session kernel that imported its libraries (numpy, pandas, matplotlib where the image has them) and ran no
// one's code, under a key that was never a session's; a session opened normally restores it and is then given a
// key of its own (the kernel's `rekey`). It is made lazily: the first session of a key boots as before while
// one image is made in the background (one at a time on this host), and every later one restores it. Its sha256,
// taken when it was written, is checked before every restore: an image that does not match (corrupted,
// truncated) is never restored — it is dropped, the session boots, and the image is made again. At most
// MAX_READY_IMAGES are kept (the least recently written go first). It must never
// hold anything of a session (no tenant's code, files or key ever enter it), nor hand out an image unverified.

import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { SessionImage, SessionKernelState } from '../../sandbox.ts';
import type { ContainerRuntime } from '../container-spec.ts';
import { fileSha256 } from './file-sha256.ts';
import { CHECKPOINT_FILE } from './runsc-checkpoint.ts';

const META_FILE = 'meta.json';
/**
 * Ready images kept at most: making one more first removes the least recently written (an image of an older
 * image hash, a memory_mb seldom asked for), so callers cycling memory_mb cannot fill the disk.
 */
export const MAX_READY_IMAGES = 8;
/** After a failed make, the same key is tried again only this much later. */
const RETRY_AFTER_MS = 10 * 60_000;

/** What a ready image is made for: a session with exactly these can start from it. */
export interface ReadyImageKey {
  /** The image tag (by the hash of all its inputs, so a changed image or template is another key). */
  image: string;
  runtime: ContainerRuntime;
  memoryMb: number;
}

/** Makes the image of a ready kernel for the key into `folder` (which exists); its kernel state. */
export type MakeReadyImage = (folder: string, signal: AbortSignal) => Promise<SessionKernelState>;

const ReadyMeta = z
  .object({
    image: z.string(),
    runtime: z.string(),
    memory_mb: z.number().int(),
    size_bytes: z.number().int(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    kernel: z.object({ key: z.string().regex(/^[0-9a-f]{64}$/), turn: z.number().int().min(0) }).strict(),
    created_at: z.string(),
  })
  .strict();

export interface ReadyKernelImagesOptions {
  /** The folder of the ready images (`<data dir>/session-ready`). */
  root: string;
  logger?: { warn(obj: object, msg: string): void; info?(obj: object, msg: string): void } | undefined;
}

export class ReadyKernelImages {
  readonly #root: string;
  readonly #logger: ReadyKernelImagesOptions['logger'];
  readonly #abort = new AbortController();
  /** Keys being made or waiting their turn (one make at a time on this host). */
  readonly #making = new Set<string>();
  readonly #failedAt = new Map<string, number>();
  #queue: Promise<void> = Promise.resolve();

  constructor(options: ReadyKernelImagesOptions) {
    this.#root = options.root;
    this.#logger = options.logger;
  }

  /** The folder name of a key: only characters a restore folder may have (RESTORE_FOLDER). */
  static nameOf(key: ReadyImageKey): string {
    return `${key.image.replace(/[^A-Za-z0-9._-]/g, '_')}-${key.runtime}-${key.memoryMb}mb`;
  }

  /**
   * The verified ready image of `key`, or undefined: there is none yet (one is made with `make` in the
   * background, and this session boots), or the one there did not hash to its sha256 (it is dropped and made
   * again the same way).
   */
  async take(key: ReadyImageKey, make: MakeReadyImage): Promise<SessionImage | undefined> {
    const name = ReadyKernelImages.nameOf(key);
    const folder = join(this.#root, name);
    const meta = await readMeta(folder);
    if (meta !== null) {
      const actual = await fileSha256(join(folder, CHECKPOINT_FILE)).catch(() => null);
      if (actual === meta.sha256) return { folder, kernel: meta.kernel };
      this.#logger?.warn(
        { image: key.image, folder, reason: actual === null ? 'image missing' : 'sha256 mismatch' },
        'a ready-made session image failed its integrity check: dropped, not restored; it is made again',
      );
    }
    // None, unreadable, or not what it says: nothing of it is kept (a make renames its folder into place).
    await rm(folder, { recursive: true, force: true });
    this.#schedule(key, name, make);
    return undefined;
  }

  /** Drops the ready image of `key` (it did not restore); the next session boots and it is made again. */
  async drop(key: ReadyImageKey, reason: string): Promise<void> {
    this.#logger?.warn({ image: key.image, reason }, 'a ready-made session image did not restore: dropped');
    await rm(join(this.#root, ReadyKernelImages.nameOf(key)), { recursive: true, force: true });
  }

  /** Stops every make (its session is closed) and waits for them. */
  async close(): Promise<void> {
    this.#abort.abort();
    await this.#queue;
  }

  async #makeRoom(): Promise<void> {
    const folders = await oldestFirst(this.#root);
    for (const folder of folders.slice(0, Math.max(0, folders.length - (MAX_READY_IMAGES - 1)))) {
      await rm(folder, { recursive: true, force: true });
    }
  }

  #schedule(key: ReadyImageKey, name: string, make: MakeReadyImage): void {
    if (this.#abort.signal.aborted || this.#making.has(name)) return;
    if (Date.now() - (this.#failedAt.get(name) ?? -Infinity) < RETRY_AFTER_MS) return;
    this.#making.add(name);
    this.#queue = this.#queue.then(async () => {
      try {
        if (!this.#abort.signal.aborted) await this.#make(key, name, make);
      } catch (error) {
        this.#failedAt.set(name, Date.now());
        if (!this.#abort.signal.aborted) {
          this.#logger?.warn({ err: error, image: key.image }, 'making a ready-made session image failed');
        }
      } finally {
        this.#making.delete(name);
      }
    });
  }

  async #make(key: ReadyImageKey, name: string, make: MakeReadyImage): Promise<void> {
    await mkdir(this.#root, { recursive: true, mode: 0o700 });
    await chmod(this.#root, 0o700);
    await this.#makeRoom();
    const scratch = join(this.#root, `.making-${name}-${randomBytes(6).toString('hex')}`);
    await mkdir(scratch, { mode: 0o700 });
    try {
      const kernel = await make(scratch, this.#abort.signal);
      const image = join(scratch, CHECKPOINT_FILE);
      await chmod(image, 0o600);
      const meta: z.infer<typeof ReadyMeta> = {
        image: key.image,
        runtime: key.runtime,
        memory_mb: key.memoryMb,
        size_bytes: (await stat(image)).size,
        sha256: await fileSha256(image),
        kernel,
        created_at: new Date().toISOString(),
      };
      await writeFile(join(scratch, META_FILE), JSON.stringify(meta), { mode: 0o600 });
      await rename(scratch, join(this.#root, name));
      this.#logger?.info?.(
        { image: key.image, size_bytes: meta.size_bytes },
        'a ready-made session image was written',
      );
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }
}

/** The ready image folders by age, oldest first; all but the newest MAX_READY_IMAGES - 1 go. */
async function oldestFirst(root: string): Promise<string[]> {
  const names = (await readdir(root)).filter((name) => !name.startsWith('.'));
  const aged = await Promise.all(
    names.map(async (name) => ({
      name,
      mtimeMs: (await stat(join(root, name)).catch(() => null))?.mtimeMs ?? 0,
    })),
  );
  return aged.sort((a, b) => a.mtimeMs - b.mtimeMs).map((entry) => join(root, entry.name));
}

async function readMeta(folder: string): Promise<z.infer<typeof ReadyMeta> | null> {
  try {
    return ReadyMeta.parse(JSON.parse(await readFile(join(folder, META_FILE), 'utf8')));
  } catch {
    return null;
  }
}
