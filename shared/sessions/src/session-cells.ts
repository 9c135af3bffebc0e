// The cells of open sessions: each is an execution, admitted like one (authorized, its `accepted` record
// durable before it runs, else `503 audit_unavailable` and nothing spent), stored in the ExecutionStore (so
// GET /v1/executions/:id reads it) with its started/finished records, and streamed while it runs. A paused
// session is resumed first. Must never run two cells of one session at once, nor run a cell in a closed one.

import { cellAcceptedEntry, cellFinishedEntry, cellStartedEntry } from '@airlock/audit';
import { narrowPolicy } from '@airlock/auth';
import {
  AirlockError,
  type Caller,
  type CellRequest,
  type Execution,
  type ExecutionEvent,
  emptyResult,
  resolveLimits,
} from '@airlock/protocol';
import { storeUnavailable } from '@airlock/store';
import { admitWithRecord } from './admission/admission.ts';
import { CellFeeds } from './cell-feeds.ts';
import type { OpenSessions } from './open-sessions.ts';
import { auditRefusal, type SessionsDeps } from './session-deps.ts';
import { type Entry, messageOf } from './session-entry.ts';
import { cellAsRequest, newCellExecution } from './session-executions.ts';

export interface SessionCellsDeps {
  deps: SessionsDeps;
  open: OpenSessions;
  /** Restores a paused session before its cell runs (audited); else nothing. */
  resumePaused: (entry: Entry, caller: Caller) => Promise<void>;
}

export class SessionCells {
  readonly #deps: SessionCellsDeps;
  /** Event feeds of the running cells (GET /v1/executions/:id/events). */
  readonly #feeds = new CellFeeds();

  constructor(deps: SessionCellsDeps) {
    this.#deps = deps;
  }

  /**
   * Admits a cell and starts it: `running` is the cell as it starts (readable and watchable by its id from
   * now on), `done` resolves with it finished (and is never left unhandled by the caller who drops it).
   */
  async start(
    headers: Record<string, unknown>,
    id: string,
    cell: CellRequest,
  ): Promise<{ running: Execution; done: Promise<Execution> }> {
    const { deps, open } = this.#deps;
    const caller = await deps.authorizer.authenticate(headers);
    const { entry, session: closed } = await open.find(caller, id);
    if (!entry) {
      throw new AirlockError(
        'session_closed',
        `session ${id} is closed (${closed.closed_reason ?? 'closed'})`,
      );
    }
    const { session } = entry;
    await this.#deps.resumePaused(entry, caller);
    if (session.status === 'closed' || !entry.sandbox) {
      throw new AirlockError(
        'session_closed',
        `session ${id} is closed (${session.closed_reason ?? 'closing'})`,
      );
    }
    if (entry.running) throw new AirlockError('session_busy', `session ${id} is running a cell`);
    const request = cellAsRequest(session, cell);
    const running = new AbortController();
    // Taken now: admission waits for the audit log, and a second cell must find the session busy meanwhile.
    entry.running = running;
    session.status = 'busy';
    let execution: Execution;
    let storedCell: Execution | undefined;
    try {
      const grant = deps.authorizer.authorizeSubmission(caller, request, 'cell');
      const policy = narrowPolicy({ defaults: session.limits, ceilings: deps.limits.ceilings }, grant);
      const limits = { ...resolveLimits(cell.limits, policy), memory_mb: session.limits.memory_mb };
      execution = newCellExecution(session, limits);
      // Stored first, so a crash from here on leaves a record that recovery ends; refused, it is removed.
      const record = { ...execution };
      await deps.store.executions.create({ execution: record, requestHash: '' }).catch((err) => {
        deps.logger.error({ err }, 'storing a cell failed');
        throw storeUnavailable();
      });
      storedCell = record;
      const accepted = cellAcceptedEntry(execution, request, caller, grant.capability, id);
      const admission = await admitWithRecord(deps.authorizer, deps.audit, caller, 'cell', accepted);
      admission.commit();
    } catch (error) {
      if (storedCell) {
        await deps.store.executions.remove(storedCell.tenant, storedCell.id).catch(() => {});
      }
      entry.running = null;
      if (session.status === 'busy') session.status = 'ready';
      if (error instanceof AirlockError) await auditRefusal(deps, caller, error);
      throw error;
    }
    const done = this.#runAdmitted(entry, execution, cell, running);
    done.catch(() => {});
    return { running: structuredClone(execution), done };
  }

  /** The events of the tenant's running cell `id`, or undefined when no such cell runs here. */
  watch(tenant: string, id: string, signal: AbortSignal): AsyncIterable<ExecutionEvent> | undefined {
    return this.#feeds.watch(tenant, id, signal);
  }

  /** Runs a cell whose `accepted` record is durable; its `started` and `finished` records follow. */
  async #runAdmitted(
    entry: Entry,
    execution: Execution,
    cell: CellRequest,
    running: AbortController,
  ): Promise<Execution> {
    const { deps, open } = this.#deps;
    const { session } = entry;
    const id = session.id;
    const sandbox = entry.sandbox;
    const onAuditError = (err: unknown) => deps.logger.error({ err }, 'audit append failed');
    this.#feeds.open(execution);
    let finished = execution;
    try {
      deps.audit.append(cellStartedEntry(execution, id)).catch(onAuditError);
      const result = !sandbox
        ? emptyResult('canceled', `the session was closed (${session.closed_reason ?? 'closing'})`)
        : await sandbox
            .run(
              {
                executionId: execution.id,
                code: cell.code,
                files: cell.files.map((f) => ({ path: f.path, content: Buffer.from(f.content, f.encoding) })),
                stdin: cell.stdin,
                limits: execution.limits,
              },
              {
                signal: running.signal,
                onOutput: (stream, chunk) => this.#feeds.output(execution.id, stream, chunk),
              },
            )
            .catch((error: unknown) =>
              emptyResult('internal_error', `the session sandbox failed: ${messageOf(error)}`),
            );
      execution.status = 'finished';
      execution.finished_at = new Date().toISOString();
      execution.result = result;
      session.cells += 1;
      await deps.store.executions.finish({ ...execution }, this.#feeds.replay(execution));
      await deps.audit.append(cellFinishedEntry(execution, id)).catch(onAuditError);
      // A cell that ended the sandbox (os._exit, OOM, an uninterruptible timeout) has settled `ended` by now.
      const ended = sandbox ? await Promise.race([sandbox.ended, Promise.resolve(null)]) : null;
      if (ended !== null) await open.close(entry, ended);
      return { ...execution };
    } catch (error) {
      if (execution.status !== 'finished') {
        session.cells += 1;
        const failed = { ...execution, status: 'finished' as const, finished_at: new Date().toISOString() };
        failed.result = emptyResult('internal_error', `the cell did not run: ${messageOf(error)}`);
        await deps.store.executions.finish(failed, this.#feeds.replay(failed)).catch(() => {});
        finished = failed;
      }
      throw error;
    } finally {
      entry.running = null;
      if (session.status === 'busy') session.status = 'ready';
      open.touch(entry);
      // Also when the sandbox ended during the cell: this record then carries the cell count as well.
      await open.store(entry);
      this.#feeds.end(finished);
    }
  }
}
