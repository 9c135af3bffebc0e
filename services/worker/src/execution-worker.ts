// The job worker: takes a job from the queue, records that it started, runs it in its backend's sandbox and
// returns the result. The finished record is written when the queue settles the execution, so executions that
// never ran (canceled while queued, shut down) get one too.

import { type AuditSink, startedEntry } from '@airlock/audit';
import {
  type Execution,
  type ExecutionRequest,
  type ExecutionResult,
  emptyResult,
  isAirlockError,
  type NetworkInput,
} from '@airlock/protocol';
import type { JobWorker } from '@airlock/queue';
import type { EgressAccess, SandboxFile, SandboxJob, SandboxRunOptions } from '@airlock/sandbox';
import type { SandboxRegistry } from './backends.ts';
import type { EgressBroker } from './egress-broker.ts';

export interface ExecutionWorkerOptions {
  registry: SandboxRegistry;
  audit: AuditSink;
  /** Called when an audit append fails; the job still runs (its accepted record is already durable). */
  onAuditError?: (error: unknown) => void;
  /** The proxy runs with `network.egress: proxy` go through; absent, such runs are rejected. */
  egress?: EgressBroker;
}

/** How long a run's proxy credential lives past its wall-clock limit at most. */
const EGRESS_TTL_MARGIN_MS = 60_000;

export function decodeFiles(files: ExecutionRequest['files']): SandboxFile[] {
  return files.map((file) => ({
    path: file.path,
    content:
      file.encoding === 'base64'
        ? new Uint8Array(Buffer.from(file.content, 'base64'))
        : new TextEncoder().encode(file.content),
  }));
}

export function createExecutionWorker(options: ExecutionWorkerOptions): JobWorker {
  return async ({ execution, request }, context): Promise<ExecutionResult> => {
    // Appends are ordered by call, so `started` follows `accepted` without waiting for its fsync here.
    options.audit.append(startedEntry(execution)).catch((error: unknown) => options.onAuditError?.(error));
    const sandbox = options.registry.get(execution.backend);
    const runOptions: SandboxRunOptions = {
      signal: context.signal,
      onOutput: (stream, chunk) => context.output(stream, chunk),
    };
    const network = request.network;
    if (network.egress !== 'proxy')
      return withMatch(await sandbox.run(jobOf(execution, request), runOptions), request);
    const result = await withEgress(options.egress, execution, network, (egress) =>
      sandbox.run({ ...jobOf(execution, request), egress }, runOptions),
    );
    return withMatch(result, request);
  };
}

/**
 * Runs `run` with the run opened on the egress proxy (its per-run credential minted), then closes it (the
 * credential revoked, also when `run` throws) and attaches its egress records to the result.
 */
async function withEgress(
  broker: EgressBroker | undefined,
  execution: Execution,
  network: Extract<NetworkInput, { egress: 'proxy' }>,
  run: (egress: EgressAccess) => Promise<ExecutionResult>,
): Promise<ExecutionResult> {
  if (!broker) {
    return emptyResult('rejected', `network egress is not available for backend '${execution.backend}' here`);
  }
  let egress: EgressAccess;
  try {
    egress = await broker.open(execution.id, network, execution.limits.wall_time_ms + EGRESS_TTL_MARGIN_MS);
  } catch (error) {
    if (isAirlockError(error)) return emptyResult('rejected', error.message);
    throw error;
  }
  let result: ExecutionResult;
  try {
    result = await run(egress);
  } catch (error) {
    await Promise.resolve()
      .then(() => broker.close(execution.id))
      .catch(() => {});
    throw error;
  }
  return { ...result, egress: await broker.close(execution.id) };
}

function jobOf(execution: Execution, request: ExecutionRequest): SandboxJob {
  return {
    executionId: execution.id,
    language: execution.language,
    code: request.code,
    files: decodeFiles(request.files),
    stdin: request.stdin,
    args: request.args,
    env: request.env,
    limits: execution.limits,
    template: request.template,
    compileWallTimeMs: request.limits.compile_wall_time_ms,
  };
}

/** `matched` when the request has `expected_output`: stdout against it, trailing newlines ignored on both. */
export function withMatch(result: ExecutionResult, request: ExecutionRequest): ExecutionResult {
  if (request.expected_output === undefined) return result;
  const trim = (text: string) => text.replace(/(?:\r?\n)+$/, '');
  const matched = result.outcome === 'success' && trim(result.stdout) === trim(request.expected_output);
  return { ...result, matched };
}
