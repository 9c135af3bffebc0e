// The job worker: takes a job from the queue, records that it started, runs it in its backend's sandbox and
// returns the result. The finished record is written when the queue settles the execution, so executions that
// never ran (canceled while queued, shut down) get one too.

import type { AuditSink } from '@airlock/audit';
import type { ExecutionRequest, ExecutionResult } from '@airlock/protocol';
import type { JobWorker } from '@airlock/queue';
import type { BackendName, SandboxFile } from '@airlock/sandbox';
import { startedEntry } from './audit-entries.ts';
import type { SandboxRegistry } from './backends.ts';

export interface ExecutionWorkerOptions {
  registry: SandboxRegistry;
  audit: AuditSink;
  /** Called when an audit append fails; the job still runs (its accepted record is already durable). */
  onAuditError?: (error: unknown) => void;
}

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
    const sandbox = options.registry.get(execution.backend as BackendName);
    return sandbox.run(
      {
        executionId: execution.id,
        language: execution.language,
        code: request.code,
        files: decodeFiles(request.files),
        stdin: request.stdin,
        args: request.args,
        env: request.env,
        limits: execution.limits,
      },
      { signal: context.signal, onOutput: (stream, chunk) => context.output(stream, chunk) },
    );
  };
}
