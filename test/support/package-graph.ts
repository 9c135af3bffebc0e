// Reads the npm workspaces (root package.json's `workspaces`) as a graph of their @airlock/* dependencies, finds
// a cycle in it, and lists the @airlock/* packages a workspace's source files import without its package.json
// listing them. Reads files only; changes nothing.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export interface Workspace {
  name: string;
  /** The workspace's folder, relative to the repository. */
  dir: string;
  /** @airlock/* names of `dependencies`. */
  dependencies: string[];
  /** @airlock/* names of `devDependencies`. */
  devDependencies: string[];
}

export interface UnlistedImport {
  file: string;
  /** The @airlock/* package imported (its subpath cut off). */
  imported: string;
  /** Where it must be listed: `dependencies`, or (a test file) either. */
  needs: 'dependencies' | 'devDependencies';
}

const SCOPE = '@airlock/';

function airlockNames(deps: Record<string, string> | undefined): string[] {
  return Object.keys(deps ?? {}).filter((name) => name.startsWith(SCOPE));
}

function readJson(path: string): any {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** Every workspace the root package.json names (a `dir/*` pattern or a folder). */
export function readWorkspaces(root: string): Workspace[] {
  const patterns: string[] = readJson(join(root, 'package.json')).workspaces;
  const dirs = patterns.flatMap((pattern) => {
    if (!pattern.endsWith('/*')) return [pattern];
    const parent = pattern.slice(0, -2);
    return readdirSync(join(root, parent)).map((entry) => `${parent}/${entry}`);
  });
  return dirs
    .filter((dir) => statSync(join(root, dir, 'package.json'), { throwIfNoEntry: false })?.isFile())
    .map((dir) => {
      const manifest = readJson(join(root, dir, 'package.json'));
      return {
        name: manifest.name,
        dir,
        dependencies: airlockNames(manifest.dependencies),
        devDependencies: airlockNames(manifest.devDependencies),
      };
    });
}

/** One cycle of `edges` as the names along it (first name repeated last), or undefined when there is none. */
export function findCycle(edges: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === 'done') return undefined;
    if (state.get(node) === 'open') return [...path.slice(path.indexOf(node)), node];
    state.set(node, 'open');
    path.push(node);
    for (const next of edges.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of edges.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}

/** The graph of the workspaces' @airlock/* dependencies, dev dependencies included. */
export function dependencyEdges(workspaces: readonly Workspace[]): Map<string, string[]> {
  return new Map(workspaces.map((w) => [w.name, [...w.dependencies, ...w.devDependencies]]));
}

/** A file only tests load: a test, a fixture, a package's `testing` entry, the test workspace's own files. */
function isTestFile(path: string, workspace: Workspace): boolean {
  return (
    workspace.dir === 'test' ||
    /\.test\.ts$|fixtures?\.ts$|(^|\/)testing\.ts$|(^|\/)test-[^/]*\.ts$|-test-env\.ts$/.test(path)
  );
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sourceFiles(path);
    return /\.(ts|mts|js|mjs)$/.test(entry.name) ? [path] : [];
  });
}

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)'(@airlock\/[^'/]+)[^']*'/gm;

/** The @airlock/* imports of a workspace's sources (src/, or the whole folder of one without src/) not listed. */
export function unlistedImports(root: string, workspace: Workspace): UnlistedImport[] {
  const src = join(root, workspace.dir, 'src');
  const top = statSync(src, { throwIfNoEntry: false })?.isDirectory() ? src : join(root, workspace.dir);
  const found: UnlistedImport[] = [];
  for (const path of sourceFiles(top)) {
    const file = relative(root, path);
    const test = isTestFile(file, workspace);
    for (const match of readFileSync(path, 'utf8').matchAll(IMPORT)) {
      const imported = match[1]!;
      if (imported === workspace.name || workspace.dependencies.includes(imported)) continue;
      if (test && workspace.devDependencies.includes(imported)) continue;
      found.push({ file, imported, needs: test ? 'devDependencies' : 'dependencies' });
    }
  }
  return found;
}
