// The workspace packages import one another one way only: no cycle in their @airlock/* dependencies (the gateway
// and the worker both import @airlock/sessions, and neither imports the other back), and no source file imports
// an @airlock/* package its package.json does not list (a test file may use a dev dependency).

import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { dependencyEdges, findCycle, readWorkspaces, unlistedImports } from './support/package-graph.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

describe('workspace package graph', () => {
  const workspaces = readWorkspaces(ROOT);

  it('reads every workspace, the sessions package among them', () => {
    const names = workspaces.map((w) => w.name);
    expect(names).toEqual(
      expect.arrayContaining(['@airlock/gateway', '@airlock/worker', '@airlock/sessions']),
    );
    expect(new Set(names).size).toBe(names.length);
  });

  it('has no cycle in the @airlock/* dependencies', () => {
    expect(findCycle(dependencyEdges(workspaces))).toBeUndefined();
  });

  it('keeps the gateway and the worker apart from the sessions package they share', () => {
    const byName = new Map(workspaces.map((w) => [w.name, w]));
    expect(byName.get('@airlock/worker')!.dependencies).not.toContain('@airlock/gateway');
    expect(byName.get('@airlock/gateway')!.dependencies).toContain('@airlock/sessions');
    expect(byName.get('@airlock/worker')!.dependencies).toContain('@airlock/sessions');
    const sessions = byName.get('@airlock/sessions')!;
    expect([...sessions.dependencies, ...sessions.devDependencies]).not.toEqual(
      expect.arrayContaining(['@airlock/gateway']),
    );
    expect([...sessions.dependencies, ...sessions.devDependencies]).not.toContain('@airlock/worker');
  });

  it('lists in package.json every @airlock/* package a source file imports', () => {
    expect(workspaces.flatMap((w) => unlistedImports(ROOT, w))).toEqual([]);
  });

  it('finds a cycle when there is one', () => {
    const edges = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
      ['d', []],
    ]);
    expect(findCycle(edges)).toEqual(['a', 'b', 'c', 'a']);
    expect(findCycle(new Map([['a', ['a']]]))).toEqual(['a', 'a']);
    expect(
      findCycle(
        new Map([
          ['a', ['b']],
          ['b', []],
        ]),
      ),
    ).toBeUndefined();
  });

  it('finds an import its package.json does not list', () => {
    const gateway = workspaces.find((w) => w.name === '@airlock/gateway')!;
    const unlisted = unlistedImports(ROOT, { ...gateway, dependencies: [], devDependencies: [] });
    expect(unlisted).toContainEqual({
      file: 'services/gateway/src/embedded.ts',
      imported: '@airlock/sessions',
      needs: 'dependencies',
    });
    expect(unlisted).toContainEqual(
      expect.objectContaining({ imported: '@airlock/testing', needs: 'devDependencies' }),
    );
  });
});
