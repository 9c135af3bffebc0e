// /v1/sessions: open, read and close a session; run a cell in it (the call waits for the cell).
// Cells are executions in the same store as every other, so GET /v1/executions/:id answers for them.

import {
  type ErrorCode,
  Execution,
  type RequestSchemas,
  Session,
  SessionUpdate,
  Snapshot,
} from '@airlock/protocol';
import type { SessionsApi } from '@airlock/sessions';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ErrorResponse } from '../openapi-schemas.ts';

export interface SessionRoutesOptions {
  sessions: SessionsApi;
  /** This server's request schemas (limits within its ceilings). */
  schemas: RequestSchemas;
}

const SessionIdParams = z.object({ id: z.string() });

/** What taking a snapshot or pausing can answer (a session's image, within the tenant's snapshot quota). */
const SNAPSHOT_ERRORS = [
  'forbidden',
  'not_found',
  'session_busy',
  'session_closed',
  'snapshot_unsupported',
  'snapshot_quota_exceeded',
] as const satisfies readonly ErrorCode[];

/** Without `wait` the call answers when the cell is done; with it, after at most that many seconds (202 running). */
const CellWait = z.object({ wait: z.coerce.number().min(0).max(3600).optional() }).strict();

type Headers = Record<string, unknown>;

export const sessionRoutes: FastifyPluginAsyncZod<SessionRoutesOptions> = async (app, options) => {
  const { sessions, schemas } = options;
  // Unknown and malformed ids look the same: not found, checked after authentication (in Sessions).

  app.post(
    '/v1/sessions',
    {
      schema: {
        operationId: 'createSession',
        summary: 'Open a session',
        errorCodes: [
          'forbidden',
          'not_found',
          'backend_unavailable',
          'template_unavailable',
          'snapshot_unsupported',
          'snapshot_corrupt',
          'session_limit',
          'quota_exceeded',
          'rate_limited',
          'audit_unavailable',
          'store_unavailable',
        ],
        description:
          'Starts a sandbox whose interpreter lives across cells and answers 201 with the session, ready. ' +
          'Python sessions run in containers (docker, gvisor); JavaScript/TypeScript in the isolate. ' +
          '`template` starts the container from that template (GET /v1/templates): 400 when the server does ' +
          'not have it or it does not serve the language, 503 `template_unavailable` (with Retry-After) until ' +
          'it is built. With `from_snapshot` the session starts from that snapshot (its language, backend and ' +
          'memory): a fork, whose variables and files are the snapshot’s and go their own way (422 ' +
          '`snapshot_corrupt` when the image fails its sha256 check, `snapshot_unsupported` when this server ' +
          'cannot restore it; 404 once it expired; 403 when the token forbids snapshots). `on_idle` says what its idle timeout does: `close` it, or `pause` it (a snapshot, ' +
          'its sandbox freed, status `paused`; the next cell resumes it; `max_lifetime_seconds` still ends it) — ' +
          'where the backend can snapshot (python on gvisor), else 422 `snapshot_unsupported` naming `on_idle`. ' +
          "Left out, the server's default (AIRLOCK_SESSION_ON_IDLE) where the backend can honour it, else `close`; " +
          'the session says which (`on_idle`). `resume_on_worker_loss` (NATS mode, where a worker hosts the ' +
          'session): if that worker is lost, the next call resumes the session on another worker from its ' +
          'latest snapshot (its state as of that snapshot) instead of ending it `worker_lost`. 503 ' +
          '`audit_unavailable` (with Retry-After) while the audit log cannot be written.',
        body: schemas.session,
        response: { 201: Session, '4xx': ErrorResponse, '5xx': ErrorResponse },
      },
    },
    async (request, reply) => {
      const session = await sessions.create(request.headers, request.body);
      void reply.header('location', `/v1/sessions/${session.id}`);
      return reply.code(201).send(session);
    },
  );

  // Read and close: the same route but for the method.
  for (const [method, operationId, summary, description, answer] of [
    [
      'GET',
      'getSession',
      'Read a session',
      undefined,
      (headers: Headers, id: string) => sessions.get(headers, id),
    ],
    [
      'DELETE',
      'closeSession',
      'Close a session',
      'Destroys the session sandbox, then answers 200 with the session (closed, reason `deleted`).',
      (headers: Headers, id: string) => sessions.remove(headers, id),
    ],
  ] as const) {
    app.route({
      method,
      url: '/v1/sessions/:id',
      schema: {
        operationId,
        summary,
        errorCodes: ['not_found'],
        ...(description === undefined ? {} : { description }),
        params: SessionIdParams,
        response: { 200: Session, '4xx': ErrorResponse },
      },
      handler: async (request) => answer(request.headers, request.params.id),
    });
  }

  app.patch(
    '/v1/sessions/:id',
    {
      schema: {
        operationId: 'updateSession',
        summary: "Change a session's idle timeout or lifetime",
        description:
          'Sets `idle_timeout_seconds` and/or `max_lifetime_seconds` (counted from the session creation) of an ' +
          'open session, within the server ceilings (above one: 400 naming the field, never clamped). Answers ' +
          'the session with its new `expires_at`; 409 `session_closed` once closed.',
        params: SessionIdParams,
        body: SessionUpdate,
        response: { 200: Session, '4xx': ErrorResponse },
      },
    },
    async (request) => sessions.update(request.headers, request.params.id, request.body),
  );

  app.post(
    '/v1/sessions/:id/executions',
    {
      schema: {
        operationId: 'runCell',
        summary: 'Run a cell in a session',
        errorCodes: [
          'not_found',
          'forbidden',
          'session_busy',
          'session_closed',
          'rate_limited',
          'audit_unavailable',
          'store_unavailable',
        ],
        description:
          'Runs the code in the session interpreter and answers 201 with the finished execution (with ' +
          '`session_id`, and `display`, `value`, `exception` in the result). 409 `session_busy` while another ' +
          'cell runs; with `?wait=N` it answers 202 with the running cell after N seconds (0: at once), and the ' +
          'cell goes on (read it at `/v1/executions/:id`, stream it at `/v1/executions/:id/events`). 409 ' +
          '`session_closed` once the session is closed, 503 `audit_unavailable` while the audit ' +
          'log cannot be written (the cell does not run; the session stays).',
        params: SessionIdParams,
        querystring: CellWait,
        body: schemas.cell,
        response: { 201: Execution, 202: Execution, '4xx': ErrorResponse, '5xx': ErrorResponse },
      },
    },
    async (request, reply) => {
      const { running, done } = await sessions.startCell(request.headers, request.params.id, request.body);
      void reply.header('location', `/v1/executions/${running.id}`);
      const wait = request.query.wait;
      if (wait === undefined) return reply.code(201).send(await done);
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), wait * 1000);
      });
      const finished = await Promise.race([done, late]).finally(() => clearTimeout(timer));
      return finished ? reply.code(201).send(finished) : reply.code(202).send(running);
    },
  );

  app.post(
    '/v1/sessions/:id/snapshots',
    {
      schema: {
        operationId: 'snapshotSession',
        summary: 'Snapshot a session',
        errorCodes: SNAPSHOT_ERRORS,
        description:
          'Saves the session interpreter memory (its variables, imported modules) and its /work files, between ' +
          'cells, and answers 201 with the snapshot; the session goes on. Start new sessions from it with ' +
          '`from_snapshot`; it expires (`expires_at`) after the server retention. 409 `session_busy` while a cell ' +
          'runs; 422 `snapshot_unsupported` on a backend that cannot (isolate sessions; docker/runc, which would ' +
          'need CRIU); 429 `snapshot_quota_exceeded` when the tenant keeps as many snapshots (or bytes of them) ' +
          'as its quota allows, the session untouched; 403 `forbidden` when the token or tenant policy forbids ' +
          'snapshots.',
        params: SessionIdParams,
        response: { 201: Snapshot, '4xx': ErrorResponse, '5xx': ErrorResponse },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await sessions.snapshot(request.headers, request.params.id)),
  );

  for (const [action, operationId, summary, description, answer] of [
    [
      'pause',
      'pauseSession',
      'Pause a session',
      'Snapshots the session and frees its sandbox: status `paused`. Its next cell, files call or ' +
        '`/resume` restores it first. 409 `session_busy` while a cell runs. The pause image counts against ' +
        "the tenant's snapshot quota: beyond it, 429 `snapshot_quota_exceeded` and the session stays ready.",
      (headers: Headers, id: string) => sessions.pause(headers, id),
    ],
    [
      'resume',
      'resumeSession',
      'Resume a paused session',
      'Restores a paused session from its pause image (a session that is not paused is answered as it is). ' +
        '422 `snapshot_corrupt` when the image fails its sha256 check.',
      (headers: Headers, id: string) => sessions.resume(headers, id),
    ],
  ] as const) {
    app.post(
      `/v1/sessions/:id/${action}`,
      {
        schema: {
          operationId,
          summary,
          description,
          errorCodes: [...SNAPSHOT_ERRORS, 'snapshot_corrupt'],
          params: SessionIdParams,
          response: { 200: Session, '4xx': ErrorResponse, '5xx': ErrorResponse },
        },
      },
      async (request) => answer(request.headers, request.params.id),
    );
  }
};
