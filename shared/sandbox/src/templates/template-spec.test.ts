// Template specs: a good one loads with its defaults; unknown keys, package names with shell metacharacters,
// file paths escaping the template folder, reserved variables and cycles each get their coded error.

import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTemplateCatalog } from './template-catalog.ts';
import { parseTemplateSpec, TemplateSpecError } from './template-spec.ts';

let root: string;
let dir: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'airlock-spec-'));
  dir = join(root, 'demo');
  await mkdir(dir);
  await writeFile(join(dir, 'greeting.txt'), 'hello\n');
  await writeFile(join(root, 'outside.txt'), 'secret\n');
  await symlink(join(root, 'outside.txt'), join(dir, 'link.txt'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

const good = {
  from: 'base',
  debian: ['file', 'libc6=2.36-9'],
  python: ['python3-requests'],
  files: [{ source: 'greeting.txt', target: '/opt/demo/greeting.txt' }],
  env: { DEMO: '1' },
  languages: { bash: { source_file: 'main.sh', run: ['bash', 'main.sh'] } },
};

async function codeOf(json: unknown): Promise<[string, string]> {
  try {
    await parseTemplateSpec('demo', dir, json);
  } catch (error) {
    if (error instanceof TemplateSpecError) return [error.code, error.field];
    throw error;
  }
  throw new Error('the spec was accepted');
}

describe('template spec', () => {
  it('loads a good spec with its defaults and the file resolved inside the folder', async () => {
    const loaded = await parseTemplateSpec('demo', dir, good);
    expect(loaded.spec.npm).toEqual([]);
    expect(loaded.spec.smoke).toEqual([]);
    expect(loaded.fileSources[0]).toMatch(/demo\/greeting\.txt$/);
  });

  it('refuses unknown keys, at the top and inside a language', async () => {
    expect(await codeOf({ ...good, dockerfile: 'RUN x' })).toEqual(['template_unknown_key', 'dockerfile']);
    expect(
      await codeOf({ ...good, languages: { bash: { source_file: 'a.sh', run: ['bash'], shell: true } } }),
    ).toEqual(['template_unknown_key', 'languages.bash.shell']);
  });

  it('refuses package names a shell or apt could read as more than a name', async () => {
    for (const bad of ['curl; rm -rf /', '$(id)', 'a|b', '-o=Dir::Etc=/x', 'a b', 'x`id`', 'x&&y', 'x>y']) {
      expect(await codeOf({ ...good, debian: [bad] })).toEqual(['template_invalid_package', 'debian[0]']);
    }
    expect(await codeOf({ ...good, python: ['requests'] })).toEqual([
      'template_invalid_package',
      'python[0]',
    ]);
    expect(await codeOf({ ...good, npm: ['left-pad;id'] })).toEqual(['template_invalid_package', 'npm[0]']);
  });

  it('refuses file paths that leave the template folder or land where Airlock mounts', async () => {
    const files = (source: string, target = '/opt/x') => ({ ...good, files: [{ source, target }] });
    expect(await codeOf(files('../outside.txt'))).toEqual(['template_path_escape', 'files[0].source']);
    expect(await codeOf(files('/etc/passwd'))).toEqual(['template_path_escape', 'files[0].source']);
    expect(await codeOf(files('link.txt'))).toEqual(['template_path_escape', 'files[0].source']);
    expect(await codeOf(files('greeting.txt', '/opt/../etc/x'))).toEqual([
      'template_path_escape',
      'files[0].target',
    ]);
    expect(await codeOf(files('greeting.txt', '/opt/airlock/runner'))).toEqual([
      'template_path_escape',
      'files[0].target',
    ]);
    expect(await codeOf(files('greeting.txt', '/work/x'))).toEqual([
      'template_path_escape',
      'files[0].target',
    ]);
  });

  it('takes /work or a folder under it as the workdir and refuses any other', async () => {
    for (const workdir of ['/work', '/work/app', '/work/src/build-1']) {
      expect((await parseTemplateSpec('demo', dir, { ...good, workdir })).spec.workdir).toBe(workdir);
    }
    const escapes = [
      '../x',
      'app',
      'work/app',
      '/etc',
      '/tmp',
      '/',
      '/work/../etc',
      '/work/./app',
      '/work//app',
    ];
    for (const workdir of [...escapes, '/work/app/', '/work/out', '/work/out/x', '/workx', '/opt/work']) {
      expect(await codeOf({ ...good, workdir }), workdir).toEqual(['template_path_escape', 'workdir']);
    }
    for (const workdir of ['/work/a b', '/work/$(id)', '/work/a;b']) {
      expect(await codeOf({ ...good, workdir }), workdir).toEqual(['template_invalid', 'workdir']);
    }
    expect(await codeOf({ ...good, workdir: 42 })).toEqual(['template_invalid', 'workdir']);
    const refused = await parseTemplateSpec('demo', dir, { ...good, workdir: '/etc' }).catch(
      (e: unknown) => e,
    );
    expect(String(refused)).toBe(
      'TemplateSpecError: template_path_escape: workdir: "/etc" must be /work or a folder under it other than /work/out (the rest of the root is read-only)',
    );
  });

  it('refuses variables Airlock sets and a bad `from`', async () => {
    expect((await codeOf({ ...good, env: { LD_PRELOAD: '/x.so' } }))[0]).toBe('template_invalid');
    expect((await codeOf({ ...good, env: { HTTP_PROXY: 'x' } }))[0]).toBe('template_invalid');
    expect(await codeOf({ ...good, from: 'image:x; rm -rf /' })).toEqual(['template_invalid', 'from']);
  });

  it('a catalog loads the good templates and reports a bad one and a cycle by name', async () => {
    const cat = await mkdtemp(join(tmpdir(), 'airlock-catalog-'));
    try {
      const put = async (name: string, spec: unknown) => {
        await mkdir(join(cat, name));
        await writeFile(join(cat, name, 'template.json'), JSON.stringify(spec));
      };
      const lang = { bash: { source_file: 'main.sh', run: ['bash', 'main.sh'] } };
      await put('child', { from: 'template:parent', languages: lang });
      await put('parent', { languages: lang });
      await put('broken', { languages: lang, debian: ['a;b'] });
      await put('loop-a', { from: 'template:loop-b', languages: lang });
      await put('loop-b', { from: 'template:loop-a', languages: lang });
      const catalog = await loadTemplateCatalog([cat]);
      expect(catalog.specs.map((s) => s.name)).toEqual(['parent', 'child']);
      expect(catalog.errors.get('broken')?.code).toBe('template_invalid_package');
      expect(['template_cycle', 'template_invalid']).toContain(catalog.errors.get('loop-a')?.code);
      expect(catalog.errors.has('loop-b')).toBe(true);
    } finally {
      await rm(cat, { recursive: true, force: true });
    }
  });
});
