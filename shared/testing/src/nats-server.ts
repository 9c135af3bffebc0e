// Starts a real nats-server for a test: loopback only, a free port, JetStream on a temp store dir. It waits
// until the server accepts clients, can stop and restart it on the same port and dir, and cleans up.
// Must never skip when the binary is missing (it fails, saying how to install it), never signal any process
// but its own child, and never listen beyond 127.0.0.1.

import { type ChildProcess, spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from './free-port.ts';
import { jetStreamAnswers, serverInfo } from './server-info.ts';

export interface NatsServerOptions {
  /**
   * Enables JetStream (`-js -sd DIR`) with a fresh temp store dir.
   * @default false
   */
  jetstream?: boolean;
  /**
   * Directories searched for the `nats-server` binary, separated like PATH.
   * @default process.env.PATH at call time
   */
  searchPath?: string;
  /**
   * Milliseconds to wait for the server to accept clients after each start.
   * @default 20_000
   */
  readyTimeoutMs?: number;
  /** Extra command-line arguments, e.g. `['--max_payload', '65536']`. @default [] */
  args?: readonly string[];
}

export interface NatsServer extends AsyncDisposable {
  /** `nats://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  /** The JetStream store dir (a temp dir removed on dispose); it survives stop() and restart(). */
  readonly storeDir: string;
  /** Pid of the running child, or undefined while stopped. */
  readonly pid: number | undefined;
  /** Stops the child (SIGTERM, then SIGKILL after 10 s; or the signal given) and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Stops it if running, then starts it again on the same port and store dir and waits until it is ready. */
  restart(): Promise<void>;
}

export const INSTALL_HINT =
  'nats-server not found on PATH; install with apt-get install nats-server (scripts/setup-host.sh does)';

const STOP_GRACE_MS = 10_000;
const MAX_OUTPUT_CHARS = 8_000;
const PORT_ATTEMPTS = 5;

/** Children still running, killed if the test process exits without disposing them. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const binary = await findExecutable('nats-server', options.searchPath ?? process.env.PATH ?? '');
  const storeDir = await mkdtemp(join(tmpdir(), 'airlock-nats-'));
  const settings = {
    binary,
    storeDir,
    jetstream: options.jetstream ?? false,
    readyTimeoutMs: options.readyTimeoutMs ?? 20_000,
    args: options.args ?? [],
  };
  try {
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      try {
        const child = await launch(settings, port);
        return new RunningNatsServer(settings, port, child);
      } catch (error) {
        // Another process may take the port between freePort() and the server's bind.
        if (attempt >= PORT_ATTEMPTS || !String(error).includes('address already in use')) throw error;
      }
    }
  } catch (error) {
    await rm(storeDir, { recursive: true, force: true });
    throw error;
  }
}

interface LaunchSettings {
  binary: string;
  storeDir: string;
  jetstream: boolean;
  readyTimeoutMs: number;
  args: readonly string[];
}

class RunningNatsServer implements NatsServer {
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
  readonly #settings: LaunchSettings;
  #child: ChildProcess | undefined;
  #disposed = false;

  constructor(settings: LaunchSettings, port: number, child: ChildProcess) {
    this.#settings = settings;
    this.port = port;
    this.url = `nats://127.0.0.1:${port}`;
    this.storeDir = settings.storeDir;
    this.#child = child;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child) await terminate(child, signal);
  }

  async restart(): Promise<void> {
    if (this.#disposed) throw new Error('nats-server: restart() after dispose');
    await this.stop();
    // The port was just released by our own child; a bind can still race a lingering socket, so retry.
    for (let attempt = 1; ; attempt++) {
      try {
        this.#child = await launch(this.#settings, this.port);
        return;
      } catch (error) {
        if (attempt >= PORT_ATTEMPTS || !String(error).includes('address already in use')) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
      }
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#disposed = true;
    await this.stop();
    await rm(this.storeDir, { recursive: true, force: true });
  }
}

async function findExecutable(name: string, searchPath: string): Promise<string> {
  for (const dir of searchPath.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this directory; keep looking.
    }
  }
  throw new Error(`${INSTALL_HINT} (searched: ${searchPath || '(empty PATH)'})`);
}

/** Spawns the server and resolves once it accepts clients; rejects with its output if it exits first. */
async function launch(settings: LaunchSettings, port: number): Promise<ChildProcess> {
  const args = ['-a', '127.0.0.1', '-p', String(port)];
  if (settings.jetstream) args.push('-js', '-sd', settings.storeDir);
  args.push(...settings.args);
  const child = spawn(settings.binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-MAX_OUTPUT_CHARS);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => resolve(`exited (code ${code}, signal ${signal})`));
    child.once('error', (error) => resolve(`failed to start: ${error.message}`));
  });
  track(child);
  const deadline = Date.now() + settings.readyTimeoutMs;
  let exitReason: string | undefined;
  void exited.then((reason) => {
    exitReason = reason;
  });
  while (exitReason === undefined && Date.now() < deadline) {
    const info = await serverInfo(port);
    if (info && (!settings.jetstream || (info.jetstream === true && (await jetStreamAnswers(port))))) {
      return child;
    }
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 50))]);
  }
  await terminate(child, 'SIGKILL');
  const why = exitReason ?? `did not accept clients within ${settings.readyTimeoutMs} ms`;
  throw new Error(`nats-server on 127.0.0.1:${port} ${why}:\n${output.trim()}`);
}

async function terminate(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  const running = child.pid !== undefined && child.exitCode === null && child.signalCode === null;
  if (running) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), STOP_GRACE_MS);
    });
    if ((await Promise.race([exited, late])) === 'late') {
      child.kill('SIGKILL');
      await exited;
    }
    clearTimeout(timer);
  }
  live.delete(child);
}

function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const running of live) running.kill('SIGKILL');
  });
}
