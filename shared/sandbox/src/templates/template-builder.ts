// Builds one template image from its spec, in named steps: resolve `from` (the Debian base, a built template,
// or an image already in the local engine, which must have /bin/sh), install Debian and python3-* packages
// (apt-get in a build container on the host's network, committed as a layer), install npm packages (on the
// host, copied in), add the static runner, the statx fallback, the session kernel (a template serving python)
// and the spec's files, env and the contract's /work, then smoke-check it under the hardened flags and only then tag it `airlock-tmpl-<name>:<hash>`.
// It must never tag an image that failed its smoke check, pass a package name through a shell, or leave a
// build container or intermediate image behind.

import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type Dockerode from 'dockerode';
import type { ContainerRuntime } from '../container/container-spec.ts';
import { CONTRACT_VERSION } from '../container/images.ts';
import { BUILD_IMAGES_HINT, type BuildInputs } from './build-inputs.ts';
import { runTool } from './docker-cli.ts';
import { parentTemplate, templateHash } from './template-catalog.ts';
import { programsOf, type TemplateEntry, type TemplateRegistry } from './template-registry.ts';
import { smokeTemplate } from './template-smoke.ts';
import type { LoadedTemplateSpec } from './template-spec.ts';

export const DEFAULT_APT_SOURCES = [
  'deb http://deb.debian.org/debian bookworm main',
  'deb http://deb.debian.org/debian bookworm-updates main',
  'deb http://deb.debian.org/debian-security bookworm-security main',
] as const;

export const TEMPLATE_BUILD_STEPS = ['from', 'debian-packages', 'npm-packages', 'image', 'smoke'] as const;
export type TemplateBuildStep = (typeof TEMPLATE_BUILD_STEPS)[number];

/** A build that failed: the step, and the package when one package is to blame. */
export class TemplateBuildError extends Error {
  override name = 'TemplateBuildError';
  readonly step: TemplateBuildStep;
  readonly package: string | undefined;
  constructor(step: TemplateBuildStep, message: string, pkg?: string) {
    super(`step ${step}${pkg ? ` (package ${pkg})` : ''}: ${message}`);
    this.step = step;
    this.package = pkg;
  }
}

export interface TemplateBuildOptions {
  docker: Dockerode;
  inputs: BuildInputs;
  /** The built templates a spec may build from (`from: template:NAME`). */
  registry: TemplateRegistry;
  /** sources.list lines for apt-get. @default DEFAULT_APT_SOURCES */
  aptSources?: readonly string[];
  /** The runtimes the smoke check runs on. @default ['runc'] */
  smokeRuntimes?: readonly ContainerRuntime[];
  /** Every line of build output, prefixed with its step. */
  progress?: (line: string) => void;
}

export interface PlannedTemplate {
  tag: string;
  hash: string;
  fromImage: string;
}

/** The image tag the spec builds to (no build). */
export async function planTemplate(
  loaded: LoadedTemplateSpec,
  options: TemplateBuildOptions,
): Promise<PlannedTemplate> {
  const fromImage = await resolveFrom(loaded, options);
  const fromId = loaded.spec.from.startsWith('image:') ? await imageId(options.docker, fromImage) : fromImage;
  const hash = await templateHash(loaded, {
    fromId,
    runnerHash: options.inputs.runnerHash,
    kernelHash: options.inputs.kernelHash,
    contract: CONTRACT_VERSION,
    aptSources: options.aptSources ?? DEFAULT_APT_SOURCES,
  });
  return { tag: `airlock-tmpl-${loaded.name}:${hash}`, hash, fromImage };
}

/** Builds (or finds already built) the template's image; resolves with its ready registry entry. */
export async function buildTemplate(
  loaded: LoadedTemplateSpec,
  options: TemplateBuildOptions,
): Promise<TemplateEntry> {
  const say = (step: TemplateBuildStep, line: string) =>
    options.progress?.(`${loaded.name} ${step}: ${line}`);
  const planned = await planTemplate(loaded, options);
  const existing = await inspect(options.docker, planned.tag);
  if (existing?.Config?.Labels?.['airlock.contract'] === CONTRACT_VERSION) {
    say('image', `${planned.tag} up to date`);
    return readyEntry(loaded, planned, existing);
  }
  const unchecked = `${planned.tag}-unchecked`;
  const stage = `${planned.tag}-packages`;
  const context = await mkdtemp(join(tmpdir(), 'airlock-template-'));
  try {
    const packages = [...loaded.spec.debian, ...loaded.spec.python];
    let from = planned.fromImage;
    let versions: Record<string, string> = {};
    if (packages.length > 0) {
      versions = await installDebian(planned.fromImage, stage, packages, options, (l) =>
        say('debian-packages', l),
      );
      from = stage;
    }
    if (loaded.spec.npm.length > 0) {
      Object.assign(versions, await installNpm(context, loaded.spec.npm, (l) => say('npm-packages', l)));
    }
    await writeContext(context, loaded, options.inputs, from);
    const labels = {
      airlock: '1',
      'airlock.image': 'template',
      'airlock.template': loaded.name,
      'airlock.hash': planned.hash,
      'airlock.contract': CONTRACT_VERSION,
      'airlock.packages': JSON.stringify(versions),
    };
    const build = await runTool(
      'docker',
      [
        'build',
        '--no-cache',
        '-t',
        unchecked,
        ...Object.entries(labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]),
        context,
      ],
      { env: { ...process.env, DOCKER_BUILDKIT: '0' }, onLine: (l) => say('image', l) },
    );
    if (build.code !== 0)
      throw new TemplateBuildError('image', `docker build failed: ${build.tail.slice(-5).join(' | ')}`);
    say('smoke', `checking ${unchecked} on ${(options.smokeRuntimes ?? ['runc']).join(', ')}`);
    const failed = await smokeTemplate(
      options.docker,
      unchecked,
      loaded.spec,
      options.smokeRuntimes ?? ['runc'],
    );
    if (failed !== null) throw new TemplateBuildError('smoke', failed);
    await options.docker.getImage(unchecked).tag({ repo: `airlock-tmpl-${loaded.name}`, tag: planned.hash });
    say('smoke', `passed; tagged ${planned.tag}`);
    return readyEntry(loaded, planned, await inspect(options.docker, planned.tag));
  } finally {
    await rm(context, { recursive: true, force: true });
    for (const ref of [unchecked, stage])
      await options.docker
        .getImage(ref)
        .remove({ noprune: false })
        .catch(() => {});
  }
}

async function resolveFrom(loaded: LoadedTemplateSpec, options: TemplateBuildOptions): Promise<string> {
  const { from } = loaded.spec;
  if (from === 'base') {
    if ((await inspect(options.docker, options.inputs.baseTag)) === null) {
      throw new TemplateBuildError(
        'from',
        `the Debian base ${options.inputs.baseTag} is missing; ${BUILD_IMAGES_HINT}`,
      );
    }
    return options.inputs.baseTag;
  }
  const parent = parentTemplate(loaded);
  if (parent !== null) {
    const entry = options.registry.get(parent);
    if (entry?.state !== 'ready' || entry.tag === null) {
      throw new TemplateBuildError('from', `template ${parent} is not ready (${entry?.state ?? 'unknown'})`);
    }
    return entry.tag;
  }
  const ref = from.slice('image:'.length);
  if ((await inspect(options.docker, ref)) === null) {
    throw new TemplateBuildError(
      'from',
      `image ${ref} is not in the local Docker engine (pull or build it first)`,
    );
  }
  const sh = await runTool('docker', [
    'run',
    '--rm',
    '--network',
    'none',
    '--user',
    '0',
    '--label',
    'airlock=1',
    '--entrypoint',
    '/bin/sh',
    ref,
    '-c',
    'exit 0',
  ]);
  if (sh.code !== 0)
    throw new TemplateBuildError(
      'from',
      `image ${ref} has no working /bin/sh: ${sh.tail.slice(-2).join(' | ')}`,
    );
  return ref;
}

// POSIX sh run as root in the build container: $1 is the sources.list text, the rest are package names
// (validated by the spec; after `--`, so none can be an option).
const APT_SCRIPT = `set -e
printf '%s\\n' "$1" > /tmp/airlock-sources.list; shift
APT="-o Dir::Etc::SourceList=/tmp/airlock-sources.list -o Dir::Etc::SourceParts=/nonexistent -o Acquire::Retries=2"
apt-get $APT update -q
# The base has no man pages; the postinst of some packages (openjdk) links into man1 and fails without it.
mkdir -p /usr/share/man/man1
DEBIAN_FRONTEND=noninteractive apt-get $APT install -y -q --no-install-recommends -- "$@"
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /tmp/airlock-sources.list /usr/share/doc/* /usr/share/man/*
find / -xdev -type f -perm /6000 -exec chmod ug-s {} + 2>/dev/null || true
echo "AIRLOCK-VERSIONS"
dpkg-query -W -f '\${Package}=\${Version}\\n' "$@"`;

async function installDebian(
  from: string,
  stage: string,
  packages: string[],
  options: TemplateBuildOptions,
  say: (line: string) => void,
): Promise<Record<string, string>> {
  const name = `airlock-template-build-${process.pid}-${Date.now()}`;
  const sources = (options.aptSources ?? DEFAULT_APT_SOURCES).join('\n');
  const names = packages.map((p) => p.split('=')[0] as string);
  try {
    const run = await runTool(
      'docker',
      [
        'run',
        '--name',
        name,
        '--label',
        'airlock=1',
        '--label',
        'airlock.template-build=1',
        '--network',
        'host',
        '--user',
        '0:0',
        '-v',
        '/etc/resolv.conf:/etc/resolv.conf:ro',
        '--entrypoint',
        '/bin/sh',
        from,
        '-c',
        APT_SCRIPT,
        'airlock-apt',
        sources,
        ...packages,
      ],
      { onLine: say },
    );
    if (run.code !== 0) {
      const text = run.tail.join('\n');
      const blamed = names.find((p) =>
        new RegExp(`(package|for|Package) '?${p.replace(/[.+]/g, '\\$&')}'?( |$|\\n)`).test(text),
      );
      throw new TemplateBuildError(
        'debian-packages',
        `apt-get failed: ${run.tail.slice(-3).join(' | ')}`,
        blamed,
      );
    }
    const commit = await runTool('docker', ['commit', name, stage]);
    if (commit.code !== 0)
      throw new TemplateBuildError('debian-packages', `docker commit failed: ${commit.tail.join(' | ')}`);
    const versions: Record<string, string> = {};
    const listed = run.stdout.split('AIRLOCK-VERSIONS')[1] ?? '';
    for (const line of listed.split('\n')) {
      const [pkg, version] = line.trim().split('=');
      if (pkg && version) versions[pkg] = version;
    }
    return versions;
  } finally {
    await runTool('docker', ['rm', '-f', name]);
  }
}

async function installNpm(context: string, packages: string[], say: (line: string) => void) {
  const prefix = join(context, 'npm');
  const run = await runTool(
    'npm',
    [
      'install',
      '--global',
      '--prefix',
      prefix,
      '--ignore-scripts',
      '--no-audit',
      '--no-fund',
      '--',
      ...packages,
    ],
    { onLine: say },
  );
  if (run.code !== 0) {
    const text = run.tail.join('\n');
    const blamed = packages.find((p) => text.includes(p.replace(/@[^@/]*$/, '')));
    throw new TemplateBuildError(
      'npm-packages',
      `npm install failed: ${run.tail.slice(-3).join(' | ')}`,
      blamed,
    );
  }
  const ls = await runTool('npm', ['ls', '--global', '--prefix', prefix, '--depth', '0', '--json']);
  const tree = JSON.parse(ls.stdout || '{}') as { dependencies?: Record<string, { version?: string }> };
  return Object.fromEntries(Object.entries(tree.dependencies ?? {}).map(([k, v]) => [k, v.version ?? '?']));
}

async function writeContext(context: string, loaded: LoadedTemplateSpec, inputs: BuildInputs, from: string) {
  await copyFile(inputs.runner, join(context, 'runner'));
  await copyFile(inputs.statxFallback, join(context, 'statx-fallback.so'));
  await mkdir(join(context, 'files'));
  const lines = [
    `FROM ${from}`,
    'USER 0:0',
    'COPY runner /opt/airlock/runner',
    'COPY statx-fallback.so /opt/airlock/statx-fallback.so',
    'RUN echo /opt/airlock/statx-fallback.so > /etc/ld.so.preload && install -d -m 1777 /work',
  ];
  for (const [i, file] of loaded.spec.files.entries()) {
    await copyFile(loaded.fileSources[i] as string, join(context, 'files', String(i)));
    lines.push(`COPY files/${i} ${file.target}`, `RUN chmod a+r ${file.target}`);
  }
  if (loaded.spec.npm.length > 0) lines.push('COPY npm/ /usr/local/');
  if (loaded.spec.languages.python !== undefined) {
    // Sessions run this kernel instead of the runner, whatever the template was built from.
    await mkdir(join(context, 'kernel'));
    for (const source of inputs.sessionKernel)
      await copyFile(source, join(context, 'kernel', basename(source)));
    lines.push('COPY kernel/ /opt/airlock/', 'RUN chmod -R a+rX /opt/airlock');
  }
  const env = { HOME: '/tmp', LANG: 'C.UTF-8', ...loaded.spec.env };
  if (!loaded.spec.from.startsWith('image:')) Object.assign(env, { PATH: '/usr/local/bin:/usr/bin:/bin' });
  lines.push(
    `ENV ${Object.entries(env)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(' ')}`,
  );
  lines.push('USER 65534:65534', 'WORKDIR /work', 'ENTRYPOINT []', 'CMD ["/opt/airlock/runner"]');
  await writeFile(join(context, 'Dockerfile'), `${lines.join('\n')}\n`);
}

function readyEntry(
  loaded: LoadedTemplateSpec,
  planned: PlannedTemplate,
  image: Dockerode.ImageInspectInfo | null,
): TemplateEntry {
  let packages: Record<string, string> = {};
  try {
    packages = JSON.parse(image?.Config?.Labels?.['airlock.packages'] ?? '{}');
  } catch {}
  const programs = programsOf(loaded.spec);
  return {
    name: loaded.name,
    description: loaded.spec.description ?? null,
    languages: Object.keys(programs) as TemplateEntry['languages'],
    packages,
    size_bytes: image?.Size ?? null,
    hash: planned.hash,
    state: 'ready',
    reason: null,
    builtin: false,
    tag: planned.tag,
    programs,
  };
}

async function inspect(docker: Dockerode, ref: string): Promise<Dockerode.ImageInspectInfo | null> {
  try {
    return await docker.getImage(ref).inspect();
  } catch {
    return null;
  }
}

async function imageId(docker: Dockerode, ref: string): Promise<string> {
  return (await inspect(docker, ref))?.Id ?? ref;
}
