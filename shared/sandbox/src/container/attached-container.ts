// One sandbox container, created, attached and started, whose runner waits for its job on stdin. Output that
// arrives before a job listens is held (a waiting runner writes nothing). `ended` settles when the attach
// stream ends: the container exited, was killed, or dockerd went away.
// It must never reuse a container for a second job, and never leave a container it failed to start: the
// caller's `discard` receives every container that exists, whatever happened.

import type { Duplex } from 'node:stream';
import type Dockerode from 'dockerode';
import { AttachFrameParser, type FrameStream } from './attach-frames.ts';

export interface AttachedContainer {
  readonly id: string;
  readonly container: Dockerode.Container;
  /** Settles (never rejects) when the attach stream has ended. */
  readonly ended: Promise<void>;
  readonly isEnded: boolean;
  /**
   * Routes stdout/stderr payloads to the job; anything received earlier is delivered first. A later call (the
   * program's job after a compile step on the same stream) takes over from there, mid-frame or not.
   */
  listen(onPayload: (stream: FrameStream, payload: Buffer) => void): void;
  /** Writes to the container's stdin; rejects when the stream is gone. */
  write(bytes: Buffer): Promise<void>;
  /** SIGKILL to the container (no-op when it is not running). */
  kill(timeoutMs: number): Promise<void>;
}

export interface StartContainerOptions {
  docker: Dockerode;
  spec: Dockerode.ContainerCreateOptions;
  /** Deadline of each Docker call. */
  timeoutMs: number;
  /** Receives the container when starting failed after it was created. */
  discard: (container: Dockerode.Container) => void;
  /** Runs each Docker call in its turn (the sandbox's DockerLimiter); each call's deadline starts then. @default at once */
  limit?: <T>(call: () => Promise<T>) => Promise<T>;
}

export async function startContainer(options: StartContainerOptions): Promise<AttachedContainer> {
  const { docker, spec, timeoutMs, discard } = options;
  const limit = options.limit ?? (<T>(call: () => Promise<T>) => call());
  let creating: Promise<Dockerode.Container> | undefined;
  let container: Dockerode.Container;
  try {
    container = await limit(() => {
      creating = docker.createContainer(spec);
      return withDeadline(creating, timeoutMs, 'create');
    });
  } catch (error) {
    // A create that answers after its deadline still made a container.
    creating?.then(discard, () => {});
    throw error;
  }
  let socket: Duplex | undefined;
  try {
    socket = (await limit(() =>
      withDeadline(
        container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true }),
        timeoutMs,
        'attach',
      ),
    )) as Duplex;
    const attached = new Attached(container, socket);
    await limit(() => withDeadline(container.start(), timeoutMs, 'start'));
    return attached;
  } catch (error) {
    socket?.destroy();
    discard(container);
    throw error;
  }
}

class Attached implements AttachedContainer {
  readonly container: Dockerode.Container;
  readonly ended: Promise<void>;
  readonly #socket: Duplex;
  readonly #held: Buffer[] = [];
  #parser: AttachFrameParser | undefined;
  #onPayload: (stream: FrameStream, payload: Buffer) => void = () => {};
  #ended = false;

  constructor(container: Dockerode.Container, socket: Duplex) {
    this.container = container;
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      if (this.#parser) this.#parser.push(chunk);
      else this.#held.push(chunk);
    });
    this.ended = new Promise<void>((resolve) => {
      const done = () => {
        this.#ended = true;
        resolve();
      };
      socket.once('end', done);
      socket.once('close', done);
      socket.on('error', done);
    });
  }

  get id(): string {
    return this.container.id;
  }

  get isEnded(): boolean {
    return this.#ended;
  }

  listen(onPayload: (stream: FrameStream, payload: Buffer) => void): void {
    this.#onPayload = onPayload;
    if (this.#parser) return;
    this.#parser = new AttachFrameParser((stream, payload) => this.#onPayload(stream, payload));
    for (const chunk of this.#held.splice(0)) this.#parser.push(chunk);
  }

  write(bytes: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.#ended) {
        reject(new Error('the container stream has ended'));
        return;
      }
      this.#socket.write(bytes, (error) => (error ? reject(error) : resolve()));
    });
  }

  async kill(timeoutMs: number): Promise<void> {
    try {
      await withDeadline(this.container.kill({ signal: 'SIGKILL' }), timeoutMs, 'kill');
    } catch {
      // Not running any more (409), already gone (404), or dockerd is away: removal follows either way.
    }
    this.#socket.destroy();
  }
}

/** Rejects with `docker <what> timed out` when p has not settled within ms. */
export function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`docker ${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}
