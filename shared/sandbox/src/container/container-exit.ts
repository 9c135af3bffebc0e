// How a container ended (a job's container whose stream ended without the runner's markers, a session container
// that ended by itself): its exit code and whether the kernel's OOM killer ended it — dockerd's State.OOMKilled,
// or its `oom` event, which under runsc can arrive while the flag stays unset. Bounded by deadlines; it must never
// hang on a dockerd that does not answer, and never guess OOM from exit code 137 alone.

import type Dockerode from 'dockerode';
import { withDeadline } from './attached-container.ts';

export interface ContainerExit {
  exitCode: number | null;
  oomKilled: boolean;
  description: string;
}

const OOM_RECHECKS = 10;
const OOM_RECHECK_MS = 100;

/** Waits (bounded) for the container to stop, then asks dockerd how it ended. */
export async function containerExit(
  docker: Dockerode,
  container: Dockerode.Container,
  timeoutMs: number,
): Promise<ContainerExit> {
  try {
    await withDeadline(container.wait({ condition: 'not-running' }), timeoutMs, 'wait');
  } catch {
    // Inspect anyway: it says whether the container is gone or still running.
  }
  try {
    let { State } = await withDeadline(container.inspect(), timeoutMs, 'inspect');
    // dockerd can record the exit ("die") before the OOM event that sets OOMKilled (seen under runsc, ~50 ms):
    // a SIGKILL exit without the flag is asked again for a short, bounded while before it is believed.
    for (let i = 0; i < OOM_RECHECKS && State.ExitCode === 137 && State.OOMKilled !== true; i++) {
      await new Promise((resolve) => setTimeout(resolve, OOM_RECHECK_MS));
      ({ State } = await withDeadline(container.inspect(), timeoutMs, 'inspect'));
    }
    const oomKilled =
      State.OOMKilled === true ||
      (State.ExitCode === 137 && (await sawOomEvent(docker, container.id, timeoutMs)));
    return {
      exitCode: State.ExitCode ?? null,
      oomKilled,
      description: `container exit code ${State.ExitCode}${State.Error ? `, ${State.Error}` : ''}`,
    };
  } catch (error) {
    return {
      exitCode: null,
      oomKilled: false,
      description: error instanceof Error ? error.message : String(error),
    };
  }
}

/**
 * Whether dockerd recorded an `oom` event for the container: under runsc, State.OOMKilled is sometimes never
 * set although the event arrives (~50 ms after `die`). Asks the events API for the past minute, bounded.
 */
async function sawOomEvent(docker: Dockerode, id: string, timeoutMs: number): Promise<boolean> {
  const now = Math.floor(Date.now() / 1000);
  try {
    const stream = await withDeadline(
      docker.getEvents({ since: now - 60, until: now + 1, filters: { container: [id], event: ['oom'] } }),
      timeoutMs,
      'events',
    );
    let text = '';
    for await (const chunk of stream) text += String(chunk);
    return text.includes('"oom"');
  } catch {
    return false;
  }
}
