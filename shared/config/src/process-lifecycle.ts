// What every service entry point (gateway, worker, egress proxy) does around its own work: parse the
// configuration once or exit 2 with the reason, build the service on one cleanup stack, and stop once,
// cleanly: a failed start releases what was built, a SIGINT/SIGTERM (also one during the start) disposes the
// stack — the service's shutdown, in reverse order of its start — and the exit waits, bounded, for the log.
// A promise nobody awaited that rejects is logged and the service goes on (it must never end a service that
// is serving); an uncaught exception is logged as fatal and stops the service like a signal, exit code 1.
// Must never exit without releasing what the start acquired, and never wait for the log without a bound.

import { ConfigError, loadConfig } from './load.ts';
import type { Config } from './schema.ts';

/** The parsed configuration; on a ConfigError writes `<program>: <reason>` to stderr and exits 2. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv, program: string): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${program}: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}

export interface ServiceLogger {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  fatal(obj: object, msg: string): void;
}

/** The service log's output: what it still holds back is written before the process exits. */
export interface LogFlush {
  flush(timeoutMs: number): Promise<void>;
}

export interface ServiceRun {
  logger: ServiceLogger;
  output: LogFlush;
  /** What the log says when a stop signal arrives. */
  stopMessage: string;
  /**
   * The one-line reason of a start failure that is the operator's to fix (exit 2), or undefined for any other
   * failure (logged with its error, exit 1). @default every failure exits 1
   */
  refusal?: (error: unknown) => string | undefined;
}

/** How long the exit waits for the log to take its last lines (a stuck reader must not keep the process). */
const FINAL_FLUSH_MS = 2_000;
/** How long the stop after an uncaught exception may take before the process exits 1 regardless. */
const FAILED_STOP_MS = 30_000;

/**
 * Runs a service process. `start` builds the service on `stack`: every step that acquires something pushes
 * its release. If `start` throws, the stack is released and the process exits 2 (a refusal) or 1. Otherwise
 * the first SIGINT or SIGTERM logs `stopMessage`, disposes the stack and exits 0 (1 if a release failed).
 * An unhandled rejection is logged (error) and the service continues; an uncaught exception is logged (fatal)
 * and stops the service the same way, exit code 1, within FAILED_STOP_MS.
 */
export async function runService(
  run: ServiceRun,
  start: (stack: AsyncDisposableStack) => Promise<void>,
): Promise<void> {
  const { logger, output } = run;
  // A closed stderr (EPIPE) must not crash the service the first time Node warns about something.
  process.stderr.on('error', () => {});
  const { promise: stopRequested, resolve: requestStop } = Promise.withResolvers<void>();
  let signalled = false;
  let failed = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) return;
    signalled = true;
    logger.info({ signal }, run.stopMessage);
    requestStop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // A failure nobody awaited (a bug) is reported where the operator looks, never taken as a reason to drop
  // every request, job and sandbox in flight (Node's default would end the process at once, unreleased).
  process.on('unhandledRejection', (reason) => {
    logger.error({ err: reason }, 'unhandled promise rejection (a bug); the service continues');
  });
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception; stopping the service (exit code 1)');
    failed = true;
    process.exitCode = 1;
    if (signalled) return;
    signalled = true;
    setTimeout(() => void exit(output, 1), FAILED_STOP_MS).unref();
    requestStop();
  });

  let running: AsyncDisposableStack;
  try {
    await using stack = new AsyncDisposableStack();
    await start(stack);
    running = stack.move();
  } catch (error) {
    const refusal = run.refusal?.(startCause(error));
    if (refusal === undefined) logger.fatal({ err: error }, 'start failed; what it had started is released');
    else logger.fatal({}, refusal);
    await exit(output, refusal === undefined ? 1 : 2);
    return;
  }
  void stopRequested.then(async () => {
    let code = failed ? 1 : 0;
    try {
      await running.disposeAsync();
    } catch (err) {
      logger.error({ err }, 'shutdown failed');
      code = 1;
    }
    await exit(output, code);
  });
}

/**
 * The error a start failed with. When releasing what it had acquired failed too, `await using` throws a
 * SuppressedError whose `suppressed` is the start's own error.
 */
export function startCause(error: unknown): unknown {
  let cause = error;
  while (cause instanceof SuppressedError) cause = cause.suppressed;
  return cause;
}

async function exit(output: LogFlush, code: number): Promise<never> {
  await output.flush(FINAL_FLUSH_MS);
  process.exit(code);
}
