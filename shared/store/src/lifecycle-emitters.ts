// Lifecycle events from the store's state changes, once each: wrappers of an ExecutionStore and a SessionStore
// that publish `execution.accepted` (create), `execution.started` (update to running), `execution.finished` or
// `execution.canceled` (the first finish), `session.created` (first record), `session.paused` and
// `session.resumed` (into and out of `paused`) and `session.closed` (first closed record). Every writer of
// executions and sessions goes through the store, so no handler has to remember to emit. Must never emit for a
// write that failed, and never put program output in an event.

import type { Execution, LifecycleEventType, Session } from '@airlock/protocol';
import type { ExecutionStore } from './execution-store.ts';
import type { LifecycleEvents } from './lifecycle-events.ts';
import type { SessionStore } from './session-store.ts';

/** What an execution's lifecycle event carries (never output); the JetStream log builds its events with it too. */
export function executionData(execution: Execution): Record<string, unknown> {
  const data: Record<string, unknown> = {
    status: execution.status,
    language: execution.language,
    backend: execution.backend,
    metadata: execution.metadata,
  };
  if (execution.session_id !== undefined) data.session_id = execution.session_id;
  if (execution.result) {
    data.outcome = execution.result.outcome;
    data.exit_code = execution.result.exit_code;
    data.signal = execution.result.signal;
  }
  return data;
}

function sessionData(session: Session): Record<string, unknown> {
  return {
    status: session.status,
    language: session.language,
    backend: session.backend,
    metadata: session.metadata,
    closed_reason: session.closed_reason,
  };
}

/** A store wrapped by one that publishes the events of its records' transitions (never awaited). */
abstract class Eventing<Inner> {
  protected readonly inner: Inner;
  readonly #events: LifecycleEvents;

  constructor(inner: Inner, events: LifecycleEvents) {
    this.inner = inner;
    this.#events = events;
  }

  protected publish(
    type: LifecycleEventType,
    record: { tenant: string; id: string },
    data: Record<string, unknown>,
  ): void {
    void this.#events.publish({ type, tenant: record.tenant, subject: record.id, data });
  }
}

export class EventingExecutionStore extends Eventing<ExecutionStore> implements ExecutionStore {
  #emit(type: 'accepted' | 'started' | 'finished' | 'canceled', execution: Execution): void {
    this.publish(`execution.${type}`, execution, executionData(execution));
  }

  async create(entry: Parameters<ExecutionStore['create']>[0]): ReturnType<ExecutionStore['create']> {
    const outcome = await this.inner.create(entry);
    if (outcome.created) {
      this.#emit('accepted', entry.execution);
      if (entry.execution.status === 'running') this.#emit('started', entry.execution);
    }
    return outcome;
  }

  async update(execution: Execution, changes?: { runs?: number }): Promise<void> {
    await this.inner.update(execution, changes);
    if (execution.status === 'running') this.#emit('started', execution);
  }

  async finish(execution: Execution, events: Parameters<ExecutionStore['finish']>[1]): Promise<void> {
    const before = await this.inner.get(execution.tenant, execution.id);
    await this.inner.finish(execution, events);
    if (before?.status === 'finished') return;
    this.#emit(execution.result?.outcome === 'canceled' ? 'canceled' : 'finished', execution);
  }

  remove(tenant: string, id: string): Promise<void> {
    return this.inner.remove(tenant, id);
  }
  get(tenant: string, id: string): ReturnType<ExecutionStore['get']> {
    return this.inner.get(tenant, id);
  }
  findByKey(tenant: string, key: string): ReturnType<ExecutionStore['findByKey']> {
    return this.inner.findByKey(tenant, key);
  }
  events(tenant: string, id: string): ReturnType<ExecutionStore['events']> {
    return this.inner.events(tenant, id);
  }
  list(tenant: string, query: Parameters<ExecutionStore['list']>[1]): ReturnType<ExecutionStore['list']> {
    return this.inner.list(tenant, query);
  }
  unfinished(): ReturnType<ExecutionStore['unfinished']> {
    return this.inner.unfinished();
  }
  sweep(): ReturnType<ExecutionStore['sweep']> {
    return this.inner.sweep();
  }
  stats(): ReturnType<ExecutionStore['stats']> {
    return this.inner.stats();
  }
}

export class EventingSessionStore extends Eventing<SessionStore> implements SessionStore {
  async putSession(session: Session): Promise<void> {
    const before = await this.inner.getSession(session.tenant, session.id);
    await this.inner.putSession(session);
    const type = !before
      ? 'created'
      : session.status === 'closed' && before.status !== 'closed'
        ? 'closed'
        : session.status === 'paused' && before.status !== 'paused'
          ? 'paused'
          : before.status === 'paused' && session.status !== 'paused'
            ? 'resumed'
            : null;
    if (!before && session.status === 'closed') {
      // Opened and closed before its first record (or recovered): both happened.
      this.#publish('created', session);
      this.#publish('closed', session);
      return;
    }
    if (type) this.#publish(type, session);
  }

  #publish(type: 'created' | 'paused' | 'resumed' | 'closed', session: Session): void {
    this.publish(`session.${type}`, session, sessionData(session));
  }

  getSession(tenant: string, id: string): ReturnType<SessionStore['getSession']> {
    return this.inner.getSession(tenant, id);
  }
  openSessions(): ReturnType<SessionStore['openSessions']> {
    return this.inner.openSessions();
  }
  listSessions(
    tenant: string,
    query: Parameters<SessionStore['listSessions']>[1],
  ): ReturnType<SessionStore['listSessions']> {
    return this.inner.listSessions(tenant, query);
  }
}
