// The session routes of a NATS gateway: the same routes (and so the same zod validation and error table) as the
// embedded mode's, each call forwarded to the worker that hosts the session (session-router.ts) and answered
// with its reply. A cell is started on the worker (`startCell` answers it running) and its end awaited there
// (`awaitCell`), given up as `internal_error` (worker lost) if that worker leaves the fleet meanwhile. Holds no
// session state: any gateway answers for any session.

import type {
  CellRequest,
  Execution,
  Session,
  SessionFileListing,
  SessionRequest,
  SessionUpdate,
  Snapshot,
} from '@airlock/protocol';
import { AirlockError } from '@airlock/protocol';
import {
  checkedPath,
  fromBase64,
  type SessionCall,
  type SessionsApi,
  type StoredFile,
  toBase64,
} from '@airlock/sessions';
import type { SessionRouter } from './session-router.ts';

type Headers = Record<string, unknown>;

export interface ForwardedSessionsOptions {
  /** Largest file the files API moves in or out (AIRLOCK_SESSION_FILE_BYTES). */
  maxFileBytes: number;
  /** How long a cell may take on its worker at most (the wall-time ceiling and a restore's margin). */
  cellTimeoutMs: number;
  /** How often a running cell's worker is checked for life. */
  livenessMs: number;
}

export class ForwardedSessions implements SessionsApi {
  readonly #router: SessionRouter;
  readonly #options: ForwardedSessionsOptions;
  readonly files: SessionsApi['files'];
  readonly snapshots: SessionsApi['snapshots'];

  constructor(router: SessionRouter, options: ForwardedSessionsOptions) {
    this.#router = router;
    this.#options = options;
    const on = async <T>(
      op: SessionCall['op'],
      headers: Headers,
      id: string,
      args?: Record<string, unknown>,
    ) => (await this.#call(op, headers, id, args)) as T;
    this.files = {
      maxFileBytes: options.maxFileBytes,
      put: async (headers, id, path, content) => {
        checkedPath(path);
        if (content.byteLength > options.maxFileBytes) {
          throw new AirlockError(
            'payload_too_large',
            `a session file is at most ${options.maxFileBytes} bytes`,
          );
        }
        return on<StoredFile>('filePut', headers, id, { path, content: toBase64(content) });
      },
      get: async (headers, id, path) => {
        const got = await on<{ file: StoredFile; content: string }>('fileGet', headers, id, { path });
        return { file: got.file, content: fromBase64(got.content) };
      },
      list: (headers, id, path) =>
        on<SessionFileListing>('fileList', headers, id, path === undefined ? {} : { path }),
      remove: (headers, id, path) => on<{ path: string; deleted: true }>('fileRemove', headers, id, { path }),
    };
    const anywhere = async <T>(op: SessionCall['op'], headers: Headers, id?: string) =>
      (await this.#router.any(callOf(op, headers, id))) as T;
    this.snapshots = {
      list: (headers) => anywhere<{ snapshots: Snapshot[] }>('snapshotList', headers),
      get: (headers, id) => anywhere<Snapshot>('snapshotGet', headers, id),
      remove: (headers, id) => anywhere<Snapshot>('snapshotRemove', headers, id),
    };
  }

  async create(headers: Headers, request: SessionRequest): Promise<Session> {
    const call = callOf('create', headers, undefined, { request });
    return (await this.#router.open(call, request.language, request.backend)) as Session;
  }

  async get(headers: Headers, id: string): Promise<Session> {
    return (await this.#call('get', headers, id)) as Session;
  }

  async remove(headers: Headers, id: string): Promise<Session> {
    return (await this.#call('remove', headers, id)) as Session;
  }

  async update(headers: Headers, id: string, update: SessionUpdate): Promise<Session> {
    return (await this.#call('update', headers, id, { update })) as Session;
  }

  async snapshot(headers: Headers, id: string): Promise<Snapshot> {
    return (await this.#call('snapshot', headers, id)) as Snapshot;
  }

  async pause(headers: Headers, id: string): Promise<Session> {
    return (await this.#call('pause', headers, id)) as Session;
  }

  async resume(headers: Headers, id: string): Promise<Session> {
    return (await this.#call('resume', headers, id)) as Session;
  }

  async startCell(
    headers: Headers,
    id: string,
    cell: CellRequest,
  ): Promise<{ running: Execution; done: Promise<Execution> }> {
    const started = await this.#router.session(
      callOf('startCell', headers, id, { cell }),
      this.#options.cellTimeoutMs,
    );
    const running = started.value as Execution;
    const done = this.#awaitCell(headers, started.worker, running.id);
    done.catch(() => {});
    return { running, done };
  }

  /** The cell's end on its worker; `internal_error` (worker lost) once that worker has left the fleet. */
  async #awaitCell(headers: Headers, worker: string, cellId: string): Promise<Execution> {
    const ended = this.#router.send(
      worker,
      callOf('awaitCell', headers, cellId),
      this.#options.cellTimeoutMs,
    );
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const lost = new Promise<never>((_resolve, reject) => {
      const check = async () => {
        if (await this.#router.isLive(worker).catch(() => true)) {
          if (!settled) timer = setTimeout(check, this.#options.livenessMs);
          return;
        }
        reject(
          new AirlockError(
            'internal_error',
            `the cell ${cellId} did not finish: worker lost (its worker ${worker} is gone)`,
          ),
        );
      };
      timer = setTimeout(check, this.#options.livenessMs);
    });
    try {
      return (await Promise.race([ended, lost])) as Execution;
    } finally {
      settled = true;
      clearTimeout(timer);
    }
  }

  async #call(op: SessionCall['op'], headers: Headers, id: string, args?: Record<string, unknown>) {
    return (await this.#router.session(callOf(op, headers, id, args))).value;
  }
}

function callOf(
  op: SessionCall['op'],
  headers: Headers,
  id?: string,
  args?: Record<string, unknown>,
): SessionCall {
  const authorization = headers.authorization;
  return {
    op,
    ...(typeof authorization === 'string' ? { authorization } : {}),
    ...(id === undefined ? {} : { id }),
    ...(args === undefined ? {} : { args }),
  };
}
