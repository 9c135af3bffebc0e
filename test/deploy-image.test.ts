// The airlock-service image as `npm run image` builds it: tagged by the hash of its inputs, labelled with version
// and commit, its size reported by the build, FROM the sandbox images' base, Node 24 and production dependencies
// only (no dev dependencies, no test files), non-root by default, a HEALTHCHECK, and one entry point whose
// argument picks the role. Containers it starts here run with --network none and are removed.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildServiceImage, docker, REPO_ROOT, type ServiceImage } from './support/service-image.ts';

let image: ServiceImage;

beforeAll(async () => {
  image = await buildServiceImage();
}, 900_000);

/** Runs `script` with bash in a throwaway container of the image → stdout. */
const inImage = (script: string) =>
  docker([
    'run',
    '--rm',
    '--network',
    'none',
    '--label',
    'airlock.test=deploy-image',
    '--entrypoint',
    'bash',
    image.tag,
    '-c',
    script,
  ]);

/** Runs the image's entry point with `args` → exit code and output. */
async function entrypoint(args: string[], env: Record<string, string> = {}) {
  const envArgs = Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  try {
    const out = await docker(['run', '--rm', '--network', 'none', ...envArgs, image.tag, ...args]);
    return { code: 0, output: out };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('the airlock-service image', () => {
  it('is tagged by the hash of its inputs, and the build reports its size', async () => {
    expect(image.tag).toMatch(/^airlock-service:[0-9a-f]{12}$/);
    const base = `airlock-base:[0-9a-f]{12}`;
    expect(image.output).toMatch(
      new RegExp(`build-service-image: ${image.tag}: \\d+ MB \\(base ${base} \\d+ MB \\+ \\d+ MB\\)$`, 'm'),
    );
    const hash = image.tag.split(':')[1];
    expect(
      await docker(['image', 'inspect', '-f', '{{index .Config.Labels "airlock.hash"}}', image.tag]),
    ).toBe(`${hash}\n`);
  });

  it('carries labels with version and commit, a HEALTHCHECK, a non-root user and the role entry point', async () => {
    const config = JSON.parse(await docker(['image', 'inspect', '-f', '{{json .Config}}', image.tag]));
    const version = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version;
    expect(config.Labels).toMatchObject({
      'airlock.image': 'service',
      'org.opencontainers.image.version': version,
      'airlock.version.node': 'v24.21.0',
    });
    expect(config.Labels['org.opencontainers.image.revision']).toMatch(/^[0-9a-f]{40}(-dirty)?$/);
    expect(config.Healthcheck.Test).toEqual(['CMD', '/usr/local/bin/airlock-healthcheck']);
    expect(config.User).toBe('airlock');
    expect(config.Entrypoint).toEqual(['/usr/local/bin/airlock-entrypoint']);
    expect(config.Cmd).toEqual(['gateway']);
  });

  it('holds Node 24, iptables (nf_tables) and nats-server, and runs as uid 10001', async () => {
    const out = await inImage('id -u; node --version; iptables --version; nats-server --version');
    expect(out).toBe('10001\nv24.21.0\niptables v1.8.9 (nf_tables)\nnats-server: v2.9.10\n');
  });

  it('holds production dependencies only and no test files', async () => {
    const out = await inImage(
      [
        'cd /opt/airlock',
        'for p in node_modules/typescript node_modules/vitest node_modules/@biomejs node_modules/node test shared/testing; do test -e $p && echo "present $p"; done',
        'echo "test files: $(find . -name "*.test.ts" -o -name "*fixture.ts" -o -name "*.d.ts" | wc -l)"',
        'test -d node_modules/isolated-vm && test -d node_modules/dockerode && echo runtime dependencies present',
      ].join('; '),
    );
    expect(out).toBe('test files: 0\nruntime dependencies present\n');
  });

  it('picks the role from its argument: an unknown one is refused, a gateway keeps the loopback rule', async () => {
    const unknown = await entrypoint(['janitor']);
    expect(unknown.code).toBe(64);
    expect(unknown.output).toContain("unknown role 'janitor' (gateway, worker, egress-proxy or nats)");
    const open = await entrypoint(['gateway'], { AIRLOCK_HOST: '0.0.0.0' });
    expect(open.code).toBe(2);
    expect(open.output).toContain(
      'refusing to bind a non-loopback address (0.0.0.0) without authorization configured',
    );
  }, 120_000);
});
