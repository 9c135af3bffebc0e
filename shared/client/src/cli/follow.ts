// Follows one execution to its end over its event stream (which replays what was missed, so a finished execution
// is shown the same way): writes stdout and stderr as they come (not with --json), shows state changes on a
// terminal, and on Ctrl-C cancels the execution and keeps reading until its result.

import type { Execution } from '@airlock/protocol';
import type { AirlockClient } from '../client.ts';
import { AirlockClientError } from '../errors.ts';
import type { CliContext } from './context.ts';

export interface FollowOptions {
  /** Write the program's output as it streams (false with --json: the result carries it). */
  echo: boolean;
}

/** The finished execution, after streaming its output. */
export async function follow(
  client: AirlockClient,
  context: CliContext,
  submitted: Execution,
  options: FollowOptions,
): Promise<Execution> {
  const { terminal } = context;
  const onInterrupt = () => {
    terminal.note(`canceling ${submitted.id}…`, 'yellow');
    client.cancel(submitted.id).catch((error: unknown) => {
      // Finished meanwhile: the stream brings its result. Anything else is worth a line.
      if (!(error instanceof AirlockClientError && error.code === 'execution_finished')) {
        terminal.message(`airlock: could not cancel ${submitted.id}: ${(error as Error).message}`, 'red');
      }
    });
  };
  if (context.interrupted.aborted) onInterrupt();
  else context.interrupted.addEventListener('abort', onInterrupt, { once: true });
  try {
    for await (const event of client.stream(submitted.id)) {
      if (event.type === 'stdout' && options.echo) terminal.stdout(event.data);
      else if (event.type === 'stderr' && options.echo) terminal.stderr(event.data);
      else if (event.type === 'state' && event.status === 'running') terminal.note(`${submitted.id} running`);
      else if (event.type === 'result') return event.execution;
    }
    throw new AirlockClientError({
      status: 200,
      code: 'unexpected_response',
      message: `execution ${submitted.id}: the event stream ended before the result`,
    });
  } finally {
    context.interrupted.removeEventListener('abort', onInterrupt);
  }
}
