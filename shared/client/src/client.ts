// AirlockClient: the typed client of the Airlock REST API — executions (submit, get, wait, stream, cancel),
// sessions (create, get, close, run a cell), listings and lifecycle events, runtimes and templates. Every answer is
// validated with the protocol's zod schemas; every failure is an AirlockClientError. Holds no state but its
// options: safe to share.

import {
  type CellRequestInput,
  type DeliveryAttempt,
  DeliveryLogPage,
  Execution,
  type ExecutionRequestInput,
  type Language,
  Session,
  SessionFileListing,
  type SessionRequestInput,
  type SessionUpdate,
  Snapshot,
  SnapshotList,
  StoredSessionFile,
  type Template,
} from '@airlock/protocol';
import { z } from 'zod';
import { AirlockClientError } from './errors.ts';
import { type ExecutionStreamEvent, executionEvents } from './events.ts';
import { type FetchLike, type HttpRequest, HttpTransport, transportFailure } from './http.ts';
import {
  EventPage,
  type EventQuery,
  type ExecutionFilters,
  ExecutionPage,
  eventQuery,
  listQuery,
  type SessionFilters,
  SessionPage,
} from './listing.ts';
import { type Runtime, RuntimesResponse, TemplatesResponse } from './runtimes.ts';
import { SessionExecution } from './session-schemas.ts';

const ClientOptions = z
  .object({
    baseUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
    token: z.string().min(1, 'must not be empty').optional(),
  })
  .loose();

export interface AirlockClientOptions {
  /** Where the gateway answers, e.g. `http://127.0.0.1:8080` (a path prefix is kept). */
  baseUrl: string;
  /** Intent token sent as `Authorization: Bearer …`; leave out for a server in local development mode. */
  token?: string | undefined;
  /** The fetch to use. @default globalThis.fetch */
  fetch?: FetchLike | undefined;
}

export interface CallOptions {
  signal?: AbortSignal | undefined;
}

export interface SubmitOptions extends CallOptions {
  /** Seconds the gateway may hold the answer until the execution finishes (`?wait=`); at most the server's max. */
  wait?: number | undefined;
  /** Same key and body → the same execution; another body → 409 idempotency_conflict. */
  idempotencyKey?: string | undefined;
}

/** A submission's answer: `created` is false when an Idempotency-Key replayed an earlier execution. */
export interface Submitted {
  execution: Execution;
  created: boolean;
}

const enc = encodeURIComponent;
/** A relative file path with each segment encoded (the server checks the path rule itself). */
const filePath = (path: string) => path.split('/').map(enc).join('/');

export class AirlockClient {
  readonly #http: HttpTransport;

  constructor(options: AirlockClientOptions) {
    const parsed = ClientOptions.safeParse(options);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new TypeError(`AirlockClient: ${issue?.path.join('.')} ${issue?.message}`);
    }
    const fetchFn: FetchLike = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#http = new HttpTransport({ baseUrl: options.baseUrl, token: options.token, fetch: fetchFn });
  }

  /** One call whose answer is a `schema` body: the body, checked. */
  async #call<S extends z.ZodType>(
    schema: S,
    method: HttpRequest['method'],
    path: string,
    options: CallOptions,
    body?: unknown,
  ): Promise<z.output<S>> {
    const request: HttpRequest = { method, path, signal: options.signal };
    if (body !== undefined) request.body = body;
    return (await this.#http.json(schema, request)).body;
  }

  /** POST /v1/executions. Without `wait` the execution is usually still queued. */
  async submit(request: ExecutionRequestInput, options: SubmitOptions = {}): Promise<Submitted> {
    const headers: Record<string, string> = {};
    if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey;
    const { status, body } = await this.#http.json(Execution, {
      method: 'POST',
      path: '/v1/executions',
      query: { wait: options.wait },
      body: request,
      headers,
      signal: options.signal,
    });
    return { execution: body, created: status !== 200 };
  }

  /** GET /v1/executions/:id. */
  async get(id: string, options: CallOptions = {}): Promise<Execution> {
    return this.#call(Execution, 'GET', `/v1/executions/${enc(id)}`, options);
  }

  /**
   * The execution's events as they happen, named as the gateway's SSE events: `state`, `stdout` and `stderr`
   * chunks, and `result` (the finished execution). A late reader first gets what it missed. Ends after `result`.
   */
  async *stream(id: string, options: CallOptions = {}): AsyncGenerator<ExecutionStreamEvent> {
    const path = `/v1/executions/${enc(id)}/events`;
    const response = await this.#http.send({
      method: 'GET',
      path,
      headers: { accept: 'text/event-stream' },
      signal: options.signal,
    });
    if (!response.body) {
      throw new AirlockClientError({
        status: response.status,
        code: 'unexpected_response',
        message: `GET ${path}: no event stream`,
      });
    }
    try {
      yield* executionEvents(response.body, path);
    } catch (error) {
      throw transportFailure(error, { method: 'GET', path, signal: options.signal });
    }
  }

  /** Waits for the execution to finish (following its event stream) and returns it. */
  async wait(id: string, options: CallOptions = {}): Promise<Execution> {
    for await (const event of this.stream(id, options)) {
      if (event.type === 'result') return event.execution;
    }
    throw new AirlockClientError({
      status: 200,
      code: 'unexpected_response',
      message: `execution ${id}: no result`,
    });
  }

  /**
   * Submits and waits for the finished execution. Aborting the signal at any point cancels the execution once it
   * exists: the (short) submission itself is not aborted, so what the server accepted is known and canceled.
   */
  async run(request: ExecutionRequestInput, options: CallOptions = {}): Promise<Execution> {
    const { execution } = await this.submit(request);
    const { signal } = options;
    try {
      signal?.throwIfAborted();
      if (execution.status === 'finished') return execution;
      return await this.wait(execution.id, options);
    } catch (error) {
      if (!signal?.aborted) throw error;
      if (execution.status !== 'finished') await this.cancel(execution.id).catch(() => undefined);
      throw transportFailure(error, { method: 'GET', path: `/v1/executions/${enc(execution.id)}`, signal });
    }
  }

  /** DELETE /v1/executions/:id: the execution, now finished with outcome `canceled`; 409 if it had finished. */
  async cancel(id: string, options: CallOptions = {}): Promise<Execution> {
    return this.#call(Execution, 'DELETE', `/v1/executions/${enc(id)}`, options);
  }

  /** GET /v1/executions/:id/deliveries: every webhook delivery attempt of the execution's events. */
  async deliveries(id: string, options: CallOptions = {}): Promise<DeliveryAttempt[]> {
    return (await this.#call(DeliveryLogPage, 'GET', `/v1/executions/${enc(id)}/deliveries`, options)).data;
  }

  /** GET /v1/executions: one page of the caller's executions, newest first; pass `next` as `cursor`. */
  async listExecutions(filters: ExecutionFilters = {}, options: CallOptions = {}): Promise<ExecutionPage> {
    return this.#call(ExecutionPage, 'GET', `/v1/executions${listQuery(filters)}`, options);
  }

  /** GET /v1/sessions: one page of the caller's sessions, newest first; pass `next` as `cursor`. */
  async listSessions(filters: SessionFilters = {}, options: CallOptions = {}): Promise<SessionPage> {
    return this.#call(SessionPage, 'GET', `/v1/sessions${listQuery(filters)}`, options);
  }

  /** GET /v1/events: the caller's lifecycle events after `after`, oldest first; `next` resumes. */
  async events(query: EventQuery = {}, options: CallOptions = {}): Promise<EventPage> {
    return this.#call(EventPage, 'GET', `/v1/events${eventQuery(query)}`, options);
  }

  /** GET /v1/runtimes: the runtimes only. */
  async runtimes(options: CallOptions = {}): Promise<Runtime[]> {
    return (await this.runtimeCatalog(options)).runtimes;
  }

  /** GET /v1/runtimes: the runtimes and the server's limit defaults and ceilings. */
  async runtimeCatalog(options: CallOptions = {}): Promise<RuntimesResponse> {
    return this.#call(RuntimesResponse, 'GET', '/v1/runtimes', options);
  }

  /** GET /v1/templates: the templates a run or session may name (`template`), with their state. */
  async templates(filter: { language?: Language } = {}, options: CallOptions = {}): Promise<Template[]> {
    const query = filter.language === undefined ? '' : `?language=${encodeURIComponent(filter.language)}`;
    return (await this.#call(TemplatesResponse, 'GET', `/v1/templates${query}`, options)).templates;
  }

  /** POST /v1/sessions: a ready session (a live interpreter whose state persists across cells). */
  async createSession(request: SessionRequestInput, options: CallOptions = {}): Promise<Session> {
    return this.#call(Session, 'POST', '/v1/sessions', options, request);
  }

  /** GET /v1/sessions/:id (also a closed one, while the server retains it). */
  async getSession(id: string, options: CallOptions = {}): Promise<Session> {
    return this.#call(Session, 'GET', `/v1/sessions/${enc(id)}`, options);
  }

  /** PATCH /v1/sessions/:id: a new idle timeout and/or lifetime (from its creation), within the ceilings. */
  async updateSession(id: string, update: SessionUpdate, options: CallOptions = {}): Promise<Session> {
    return this.#call(Session, 'PATCH', `/v1/sessions/${enc(id)}`, options, update);
  }

  /** DELETE /v1/sessions/:id: the session, closed with reason `deleted`; its sandbox is gone. */
  async closeSession(id: string, options: CallOptions = {}): Promise<Session> {
    return this.#call(Session, 'DELETE', `/v1/sessions/${enc(id)}`, options);
  }

  /** POST /v1/sessions/:id/snapshots: the session's memory and files, saved between cells; the session goes on. */
  async snapshotSession(id: string, options: CallOptions = {}): Promise<Snapshot> {
    return this.#call(Snapshot, 'POST', `/v1/sessions/${enc(id)}/snapshots`, options);
  }

  /** POST /v1/sessions/:id/pause: snapshots the session and frees its sandbox (status `paused`). */
  async pauseSession(id: string, options: CallOptions = {}): Promise<Session> {
    return this.#call(Session, 'POST', `/v1/sessions/${enc(id)}/pause`, options);
  }

  /** POST /v1/sessions/:id/resume: restores a paused session (its next cell would too). */
  async resumeSession(id: string, options: CallOptions = {}): Promise<Session> {
    return this.#call(Session, 'POST', `/v1/sessions/${enc(id)}/resume`, options);
  }

  /** GET /v1/snapshots: the caller's snapshots, oldest first. */
  async listSnapshots(options: CallOptions = {}): Promise<Snapshot[]> {
    return (await this.#call(SnapshotList, 'GET', '/v1/snapshots', options)).snapshots;
  }

  /** GET /v1/snapshots/:id. */
  async getSnapshot(id: string, options: CallOptions = {}): Promise<Snapshot> {
    return this.#call(Snapshot, 'GET', `/v1/snapshots/${enc(id)}`, options);
  }

  /** DELETE /v1/snapshots/:id: the snapshot as it was; sessions started from it go on. */
  async deleteSnapshot(id: string, options: CallOptions = {}): Promise<Snapshot> {
    return this.#call(Snapshot, 'DELETE', `/v1/snapshots/${enc(id)}`, options);
  }

  /** PUT /v1/sessions/:id/files/{path}: writes the bytes into the session's working folder. */
  async uploadFile(
    id: string,
    path: string,
    content: Uint8Array,
    options: CallOptions = {},
  ): Promise<StoredSessionFile> {
    const request: HttpRequest = {
      method: 'PUT',
      path: `/v1/sessions/${enc(id)}/files/${filePath(path)}`,
      rawBody: content,
      signal: options.signal,
    };
    return (await this.#http.json(StoredSessionFile, request)).body;
  }

  /** GET /v1/sessions/:id/files/{path}: the file's bytes (links are never followed by the server). */
  async downloadFile(id: string, path: string, options: CallOptions = {}): Promise<Uint8Array> {
    const response = await this.#http.send({
      method: 'GET',
      path: `/v1/sessions/${enc(id)}/files/${filePath(path)}`,
      headers: { accept: 'application/octet-stream' },
      signal: options.signal,
    });
    return new Uint8Array(await response.arrayBuffer());
  }

  /** GET /v1/sessions/:id/files?path=dir: a folder's entries (`.` or leave out for the working folder). */
  async listFiles(id: string, path?: string, options: CallOptions = {}): Promise<SessionFileListing> {
    const request: HttpRequest = {
      method: 'GET',
      path: `/v1/sessions/${enc(id)}/files`,
      query: { path },
      signal: options.signal,
    };
    return (await this.#http.json(SessionFileListing, request)).body;
  }

  /** DELETE /v1/sessions/:id/files/{path}: removes a file, a link or an empty folder. */
  async deleteFile(id: string, path: string, options: CallOptions = {}): Promise<void> {
    await this.#http.send({
      method: 'DELETE',
      path: `/v1/sessions/${enc(id)}/files/${filePath(path)}`,
      signal: options.signal,
    });
  }

  /** POST /v1/sessions/:id/executions: runs one cell and returns its finished execution. */
  async runCell(id: string, cell: CellRequestInput, options: CallOptions = {}): Promise<SessionExecution> {
    return this.#call(SessionExecution, 'POST', `/v1/sessions/${enc(id)}/executions`, options, cell);
  }
}
