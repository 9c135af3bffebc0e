// The Docker baselines of the container bench: what Docker alone costs to run one python hello-world with the
// hardened flags Airlock uses — `docker exec` into a running container, and a raw API create→start→wait→remove.
// It must never create a container without the labels `airlock=1, airlock.bench=1`: the bench sweeps by them
// at the end, on failure and on interrupt.

import type { ContainerRuntime } from '@airlock/sandbox';
// The one place the product's hardened create options are built. Using it (not a copy) keeps the baselines'
// flags identical to what Airlock creates.
import { containerSpec } from '@airlock/sandbox/internal';
import type Dockerode from 'dockerode';

export const BENCH_LABELS = ['airlock=1', 'airlock.bench=1'];
const HELLO_ARGV = ['python3', '-c', 'print("hello")'];

/** A running hardened container that `docker exec` targets; remove() when done. */
export interface ExecTarget {
  /**
   * As `docker exec -u 65534:65534 -w /work C python3 -c 'print("hello")'`; throws unless it printed hello.
   * After a failure the next call gets a fresh container (another Airlock's reaper may have removed this one).
   */
  exec(): Promise<void>;
  remove(): Promise<void>;
}

export class DockerBaselines {
  /** The dockerd, the image and the runtime every baseline container is made with. */
  readonly #on: { docker: Dockerode; image: string; runtime: ContainerRuntime };

  constructor(docker: Dockerode, image: string, runtime: ContainerRuntime) {
    this.#on = { docker, image, runtime };
  }

  async execTarget(memoryMb: number): Promise<ExecTarget> {
    const start = async () => {
      const container = await this.#create(['sleep', 'infinity'], memoryMb);
      try {
        await container.start();
      } catch (error) {
        await removeBenchContainer(container);
        throw error;
      }
      return container;
    };
    let current: Promise<Dockerode.Container> = start();
    return {
      exec: async () => {
        const container = await current;
        try {
          await dockerExec(container);
        } catch (error) {
          current = removeBenchContainer(container).then(start);
          throw error;
        }
      },
      remove: async () => removeBenchContainer(await current),
    };
  }

  /** One container per call: create, start, wait for exit 0, remove. */
  async createStartWaitRemove(memoryMb: number): Promise<void> {
    const container = await this.#create(HELLO_ARGV, memoryMb);
    try {
      await container.start();
      const { StatusCode } = (await container.wait()) as { StatusCode: number };
      if (StatusCode !== 0) throw new Error(`raw API: python exited ${StatusCode}`);
    } finally {
      await removeBenchContainer(container);
    }
  }

  /** Airlock's hardened flags with `cmd` instead of the runner; no stdin, nothing attached. */
  #create(cmd: string[], memoryMb: number): Promise<Dockerode.Container> {
    const spec = containerSpec({
      image: this.#on.image,
      runtime: this.#on.runtime,
      backend: this.#on.runtime === 'runsc' ? 'gvisor' : 'docker',
      profile: { memoryMb },
      instance: 'bench',
    });
    return createBenchContainer(this.#on.docker, spec, { Cmd: cmd });
  }
}

/**
 * Creates a container from Airlock's hardened `spec` with `options` on top (the command), labelled
 * `airlock.bench=1` so the bench's sweep finds it; no stdin, nothing attached.
 */
export function createBenchContainer(
  docker: Dockerode,
  spec: Dockerode.ContainerCreateOptions,
  options: Dockerode.ContainerCreateOptions,
): Promise<Dockerode.Container> {
  return docker.createContainer({
    ...spec,
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    OpenStdin: false,
    StdinOnce: false,
    ...options,
    Labels: { ...spec.Labels, 'airlock.bench': '1' },
  });
}

async function dockerExec(container: Dockerode.Container): Promise<void> {
  // What the CLI does: exec create, exec start attached (hijacked), read to the end, exec inspect.
  const exec = await container.exec({
    Cmd: HELLO_ARGV,
    AttachStdout: true,
    AttachStderr: true,
    User: '65534:65534',
    WorkingDir: '/work',
    Privileged: false,
  });
  const stream = await exec.start({ hijack: true, stdin: false });
  const output = await readToEnd(stream);
  const { ExitCode } = await exec.inspect();
  // The output is multiplexed (8-byte frame headers); the payload is what counts.
  if (ExitCode !== 0 || !output.includes('hello\n'))
    throw new Error(`docker exec: exit ${ExitCode}, output ${JSON.stringify(output)}`);
}

function readToEnd(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const done = () => resolve(Buffer.concat(chunks).toString('latin1'));
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.once('end', done);
    stream.once('close', done);
    stream.once('error', reject);
  });
}

/** Force-removes a bench container; one that another Airlock's start-up reaper removed first is fine. */
async function removeBenchContainer(container: Dockerode.Container): Promise<void> {
  try {
    await container.remove({ force: true, v: true });
  } catch (error) {
    if (!/no such container|already in progress|404|409/i.test(String(error))) throw error;
  }
}

/** Force-removes every container carrying all `labels`; returns how many there were. */
export async function sweepContainers(docker: Dockerode, labels: string[]): Promise<number> {
  const found = await docker.listContainers({ all: true, filters: { label: labels } });
  await Promise.allSettled(found.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true })));
  return found.length;
}
