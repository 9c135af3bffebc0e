// Builds the publishable @airlock/client into a folder of its own: JavaScript + one bundled `.d.ts` for the
// library, the `airlock` command, a package.json and the README. Airlock's own workspaces (@airlock/protocol,
// @airlock/auth, @airlock/audit) are bundled in — they are not published — and every other import stays an
// import, declared as a dependency with the version this repo uses. The repo itself runs the `.ts` sources.
//
//   node build.ts [--out DIR]      (default: dist)   then: npm pack DIR   or   npm publish DIR

import { copyFile, readFile, rm, writeFile } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'tsdown';

const PACKAGE_DIR = import.meta.dirname;
/** Airlock's own workspaces: bundled, never imported by the built package. */
const WORKSPACE = /^@airlock\//;

interface Manifest {
  name: string;
  version: string;
  description?: string;
  keywords?: string[];
  engines?: Record<string, string>;
  dependencies?: Record<string, string>;
}

async function manifest(dir: string): Promise<Manifest> {
  return JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as Manifest;
}

/** The version range of `name` that Airlock's workspaces depend on (their pins become `^` ranges). */
async function dependencyRange(name: string, workspaces: Manifest[]): Promise<string> {
  for (const workspace of workspaces) {
    const version = workspace.dependencies?.[name];
    if (version !== undefined) return /^\d/.test(version) ? `^${version}` : version;
  }
  throw new Error(`the bundle imports ${name}, but no workspace it is built from depends on it`);
}

/** The package name of a bare import specifier (`zod/v4` → `zod`, `@scope/x/y` → `@scope/x`). */
function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

export async function buildPackage(outDir: string): Promise<void> {
  const own = await manifest(PACKAGE_DIR);
  const workspaces = [
    own,
    ...(await Promise.all(
      Object.keys(own.dependencies ?? {})
        .filter((name) => WORKSPACE.test(name))
        .map((name) => manifest(join(PACKAGE_DIR, '..', name.slice('@airlock/'.length)))),
    )),
  ];
  // Declarations of the bundled workspaces are emitted from their sources, not read as a library's.
  const paths = Object.fromEntries(
    workspaces.slice(1).map((w) => [w.name, [`../${w.name.slice('@airlock/'.length)}/src/index.ts`]]),
  );
  const external = Object.keys(Object.assign({}, ...workspaces.map((w) => w.dependencies ?? {}))).filter(
    (name) => !WORKSPACE.test(name),
  );
  await rm(outDir, { recursive: true, force: true });
  const handle = await build({
    config: false,
    cwd: PACKAGE_DIR,
    entry: { index: 'src/index.ts', cli: 'src/cli/main.ts' },
    outDir,
    format: 'esm',
    platform: 'node',
    target: 'node22.13',
    tsconfig: 'tsconfig.json',
    dts: { entry: 'src/index.ts', compilerOptions: { paths } },
    deps: { alwaysBundle: [WORKSPACE], neverBundle: external, onlyImport: external },
    logLevel: 'warn',
    checks: { pluginTimings: false },
  });
  // What the built files import besides each other and Node's built-ins: exactly the package's dependencies.
  const chunks = handle.bundles.flatMap((bundle) => bundle.chunks.filter((chunk) => chunk.type === 'chunk'));
  const chunkNames = new Set(chunks.map((chunk) => chunk.fileName));
  const imported = new Set(
    chunks
      .flatMap((chunk) => [...chunk.imports, ...chunk.dynamicImports])
      .filter((specifier) => !chunkNames.has(specifier) && !isBuiltin(specifier))
      .map(packageName),
  );
  const dependencies: Record<string, string> = {};
  for (const name of [...imported].sort()) {
    dependencies[name] = await dependencyRange(name, workspaces);
  }
  const published = {
    name: own.name,
    version: own.version,
    description: own.description,
    keywords: own.keywords,
    type: 'module',
    engines: own.engines,
    exports: {
      '.': { types: './index.d.mts', default: './index.mjs' },
      './package.json': './package.json',
    },
    types: './index.d.mts',
    bin: { airlock: './cli.mjs' },
    dependencies,
  };
  await writeFile(join(outDir, 'package.json'), `${JSON.stringify(published, null, 2)}\n`);
  await copyFile(join(PACKAGE_DIR, 'README.md'), join(outDir, 'README.md'));
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { out: { type: 'string' } } });
  const out = values.out ?? 'dist';
  await buildPackage(isAbsolute(out) ? out : resolve(PACKAGE_DIR, out));
}
