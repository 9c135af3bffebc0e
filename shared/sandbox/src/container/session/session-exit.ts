// How a session container ended by itself: its exit code and whether the kernel's OOM killer ended it (dockerd's
// State.OOMKilled, or its `oom` event, which under runsc can arrive while the flag stays unset). Bounded by
// deadlines; it must never hang on a dockerd that does not answer, and never guess OOM from exit code 137 alone.

import type Dockerode from 'dockerode';
import { withDeadline } from '../attached-container.ts';

export interface SessionExit {
  exitCode: number | null;
  oomKilled: boolean;
  description: string;
}

const RECHECKS = 10;
const RECHECK_MS = 100;

export async function sessionExit(
  docker: Dockerode,
  container: Dockerode.Container,
  timeoutMs: number,
): Promise<SessionExit> {
  try {
    await withDeadline(container.wait({ condition: 'not-running' }), timeoutMs, 'wait');
  } catch {
    // Inspect anyway: it says whether the container is gone or still running.
  }
  try {
    let { State } = await withDeadline(container.inspect(), timeoutMs, 'inspect');
    for (let i = 0; i < RECHECKS && State.ExitCode === 137 && State.OOMKilled !== true; i++) {
      await new Promise((resolve) => setTimeout(resolve, RECHECK_MS));
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
