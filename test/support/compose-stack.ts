// The deploy/compose stack brought up for a test with Debian's docker-compose: its own project name, free
// loopback ports, and a project directory of its own (.env, airlock.env, config/, secrets/) in a temp dir, so it
// never collides with another stack or service on this machine. An override file labels every container and
// volume with `airlock.owner=<host>:<test pid>` (reapers take them only once this process is gone) and
// `airlock.test=<project>`. Dispose runs `docker-compose down -v` and removes the temp dir, also after failures.
// Must never touch another project's objects.

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '@airlock/testing';
import { docker, REPO_ROOT } from './service-image.ts';

const run = promisify(execFile);

const COMPOSE_FILE = join(REPO_ROOT, 'deploy/compose/docker-compose.yml');
const SERVICES = ['nats', 'egress-proxy', 'worker-1', 'worker-2', 'gateway-1', 'gateway-2'] as const;
export type StackService = (typeof SERVICES)[number];

export interface ComposeStackOptions {
  image: string;
  /** The stack's airlock.env. */
  airlockEnv: Record<string, string>;
  /** Files of config/ (mounted at /etc/airlock), by name. */
  config?: Record<string, string>;
}

export class ComposeStack implements AsyncDisposable {
  readonly project = `airlock-deploy-${process.pid}-${randomBytes(3).toString('hex')}`;
  readonly owner = `${hostname()}:${process.pid}`;
  readonly #dir: string;
  readonly ports: { nats: number; gateway1: number; gateway2: number };

  private constructor(dir: string, ports: ComposeStack['ports']) {
    this.#dir = dir;
    this.ports = ports;
  }

  /** Writes the project directory; nothing runs yet. */
  static async create(options: ComposeStackOptions): Promise<ComposeStack> {
    const dir = await mkdtemp(join(tmpdir(), 'airlock-deploy-'));
    const ports = { nats: await freePort(), gateway1: await freePort(), gateway2: await freePort() };
    const stack = new ComposeStack(dir, ports);
    const env = (vars: Record<string, string | number>) =>
      Object.entries(vars)
        .map(([k, v]) => `${k}=${v}\n`)
        .join('');
    await mkdir(join(dir, 'config'));
    await mkdir(join(dir, 'secrets'));
    await writeFile(
      join(dir, '.env'),
      env({
        IMAGE: options.image,
        NATS_PORT: ports.nats,
        GATEWAY_1_PORT: ports.gateway1,
        GATEWAY_2_PORT: ports.gateway2,
      }),
    );
    await writeFile(join(dir, 'airlock.env'), env(options.airlockEnv));
    for (const [name, text] of Object.entries(options.config ?? {})) {
      await writeFile(join(dir, 'config', name), text);
    }
    const labels = { 'airlock.owner': stack.owner, 'airlock.test': stack.project };
    const override = {
      version: '3.8',
      services: Object.fromEntries(SERVICES.map((s) => [s, { labels }])),
      volumes: { 'nats-data': { labels }, audit: { labels } },
    };
    // JSON is YAML: docker-compose reads the override as it is.
    await writeFile(join(dir, 'labels.yml'), JSON.stringify(override, null, 2));
    return stack;
  }

  url(gateway: 1 | 2): string {
    return `http://127.0.0.1:${gateway === 1 ? this.ports.gateway1 : this.ports.gateway2}`;
  }

  get natsUrl(): string {
    return `nats://127.0.0.1:${this.ports.nats}`;
  }

  /** `docker-compose <args>` for this project → stdout (stderr carries compose's progress lines). */
  async compose(args: string[], timeoutMs = 300_000): Promise<string> {
    const argv = [
      '-f',
      COMPOSE_FILE,
      '-f',
      join(this.#dir, 'labels.yml'),
      '--project-directory',
      this.#dir,
      '-p',
      this.project,
      ...args,
    ];
    try {
      const { stdout } = await run('docker-compose', argv, {
        timeout: timeoutMs,
        maxBuffer: 64 * 1024 * 1024,
      });
      return stdout;
    } catch (error) {
      const e = error as { code?: string; stdout?: string; stderr?: string; message: string };
      if (e.code === 'ENOENT') {
        throw new Error(
          'docker-compose not found on PATH: apt-get install docker-compose (scripts/setup-host.sh does)',
        );
      }
      throw new Error(
        `docker-compose ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`,
      );
    }
  }

  /** The container id of a service ('' when it has none). */
  async container(service: StackService): Promise<string> {
    return (await this.compose(['ps', '-q', service])).trim();
  }

  /** The host pid of a service's main process (0 when it is not running). */
  async pid(service: StackService): Promise<number> {
    const id = await this.container(service);
    return id ? Number((await docker(['inspect', '-f', '{{.State.Pid}}', id])).trim()) : 0;
  }

  /** `status health` of a service's container, e.g. `running healthy`. */
  async state(service: StackService): Promise<string> {
    const id = await this.container(service);
    const format = '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}';
    return (await docker(['inspect', '-f', format, id])).trim();
  }

  async logs(service: StackService): Promise<string> {
    return this.compose(['logs', '--no-color', service]);
  }

  /** Containers, volumes and networks docker still has for this project. */
  async leftovers(): Promise<string[]> {
    const filter = `label=com.docker.compose.project=${this.project}`;
    const lines = async (args: string[]) => (await docker(args)).split('\n').filter(Boolean);
    return [
      ...(await lines(['ps', '-a', '--filter', filter, '--format', 'container {{.Names}}'])),
      ...(await lines(['volume', 'ls', '--filter', filter, '--format', 'volume {{.Name}}'])),
      ...(await lines(['network', 'ls', '--filter', filter, '--format', 'network {{.Name}}'])),
    ];
  }

  async down(): Promise<void> {
    await this.compose(['down', '-v', '--remove-orphans', '-t', '30']);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.down();
    } finally {
      await rm(this.#dir, { recursive: true, force: true });
    }
  }
}
