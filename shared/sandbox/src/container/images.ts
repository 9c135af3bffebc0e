// The sandbox images the container backends run: where their tags come from (sandbox-images/.built/images.json,
// written by scripts/build-images.sh), checked against dockerd, and which image and argv serve each language.
// It must never pick an image by a label query alone (a stale image may carry the same labels) and never accept
// an image whose contract version it does not speak.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { COMPILED_LANGUAGES, type Language } from '@airlock/protocol';
import type Dockerode from 'dockerode';

export const IMAGE_NAMES = ['python', 'node', 'bash'] as const;
export type ImageName = (typeof IMAGE_NAMES)[number];

/** The image contract this backend speaks (sandbox-images/CONTRACT.md). */
export const CONTRACT_VERSION = '3';

export interface ResolvedImage {
  /** e.g. `airlock-python:0123456789ab`. */
  tag: string;
  hash: string;
  /** Language version from the image label `airlock.version`, e.g. `3.11.2`. */
  version: string;
}

export type ResolvedImages = Record<ImageName, ResolvedImage>;

const SETUP_HINT = 'run scripts/setup-host.sh (as root) to install Docker/runsc and build the sandbox images';

/** Why the container backends cannot run; the message says what to do. */
export class ContainerSetupError extends Error {
  override name = 'ContainerSetupError';
}

/** Reads images.json under repoRoot and checks every tag exists in dockerd with this contract's label. */
export async function loadResolvedImages(repoRoot: string, docker: Dockerode): Promise<ResolvedImages> {
  const path = join(repoRoot, 'sandbox-images', '.built', 'images.json');
  let manifest: unknown;
  try {
    manifest = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new ContainerSetupError(
      `sandbox images not built: cannot read ${path} (${errorMessage(error)}); ${SETUP_HINT}`,
    );
  }
  const images = readManifest(manifest, path);
  const resolved: Partial<ResolvedImages> = {};
  for (const name of IMAGE_NAMES) {
    const { tag, hash } = images[name];
    let labels: Record<string, string> | undefined;
    try {
      labels = (await docker.getImage(tag).inspect()).Config?.Labels ?? undefined;
    } catch (error) {
      throw new ContainerSetupError(
        `sandbox image ${tag} is missing from dockerd (${errorMessage(error)}); ${SETUP_HINT}`,
      );
    }
    const contract = labels?.['airlock.contract'];
    if (contract !== CONTRACT_VERSION) {
      throw new ContainerSetupError(
        `sandbox image ${tag} speaks image contract ${JSON.stringify(contract ?? null)}, this backend speaks ${CONTRACT_VERSION}; ${SETUP_HINT}`,
      );
    }
    resolved[name] = { tag, hash, version: labels?.['airlock.version'] ?? 'unknown' };
  }
  return resolved as ResolvedImages;
}

function readManifest(manifest: unknown, path: string): Record<ImageName, { tag: string; hash: string }> {
  const root = manifest as { contract?: unknown; images?: Record<string, { tag?: unknown; hash?: unknown }> };
  if (String(root?.contract) !== CONTRACT_VERSION) {
    throw new ContainerSetupError(
      `${path} is for image contract ${JSON.stringify(root?.contract ?? null)}, expected ${CONTRACT_VERSION}; ${SETUP_HINT}`,
    );
  }
  const out: Partial<Record<ImageName, { tag: string; hash: string }>> = {};
  for (const name of IMAGE_NAMES) {
    const entry = root.images?.[name];
    if (typeof entry?.tag !== 'string' || typeof entry.hash !== 'string') {
      throw new ContainerSetupError(`${path} has no tag for the ${name} image; ${SETUP_HINT}`);
    }
    out[name] = { tag: entry.tag, hash: entry.hash };
  }
  return out as Record<ImageName, { tag: string; hash: string }>;
}

export interface LanguageProgram {
  image: ImageName;
  /** Name of the code file under /work. */
  file: string;
  /** argv before the user's args (argv[0] is looked up in PATH by the runner). */
  argv: readonly string[];
}

/** The languages of the built-in images; the compiled ones are served by templates only. */
export type BuiltinLanguage = Exclude<Language, (typeof COMPILED_LANGUAGES)[number]>;

export function isBuiltinLanguage(language: Language): language is BuiltinLanguage {
  return !(COMPILED_LANGUAGES as readonly string[]).includes(language);
}

export const LANGUAGE_PROGRAMS: Readonly<Record<BuiltinLanguage, LanguageProgram>> = {
  python: { image: 'python', file: 'main.py', argv: ['python3', '-I', '-u', 'main.py'] },
  bash: { image: 'bash', file: 'main.sh', argv: ['bash', 'main.sh'] },
  javascript: { image: 'node', file: 'main.js', argv: ['node', 'main.js'] },
  // Node 24 strips TypeScript types itself.
  typescript: { image: 'node', file: 'main.ts', argv: ['node', 'main.ts'] },
};

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
