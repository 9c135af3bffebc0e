// Sessions: a sandbox that lives across calls, with an interpreter whose state persists from one cell
// to the next. The zod source of the session request, the session as every surface returns it, and a cell.
// Absolute bounds only; the server's defaults and ceilings for the timeouts are applied by the gateway.

import { z } from 'zod';
import { Callback } from './callback.ts';
import { ResolvedLimits } from './execution.ts';
import { idKind } from './ids.ts';
import { Backend, Code, Files, LimitsInput, Metadata, Stdin, TemplateName } from './request.ts';

/** Languages a session can hold an interpreter for (bash has no session). */
export const SESSION_LANGUAGES = ['python', 'javascript', 'typescript'] as const;
export const SESSION_STATUSES = ['ready', 'busy', 'paused', 'closed'] as const;
/** What an open session's idle timeout does: pause it (snapshot, sandbox freed) or close it. */
export const SESSION_ON_IDLE = ['pause', 'close'] as const;
export const SESSION_CLOSED_REASONS = [
  'deleted',
  'idle_timeout',
  'max_lifetime',
  'interpreter_exited',
  'memory_limit',
  'cell_timeout',
  'protocol_violation',
  'shutdown',
  'service_restarted',
  'worker_lost',
] as const;

/** Absolute bounds of the timeouts a request may ask for; servers apply their own lower ceilings. */
export const SESSION_BOUNDS = { idleSeconds: 86_400, lifetimeSeconds: 7 * 86_400 } as const;

export const SessionLanguage = z.enum(SESSION_LANGUAGES);
export const SessionStatus = z.enum(SESSION_STATUSES);
export const SessionClosedReason = z.enum(SESSION_CLOSED_REASONS);
export const SessionOnIdle = z.enum(SESSION_ON_IDLE);

export const SessionRequest = z
  .object({
    language: SessionLanguage,
    backend: Backend.default('auto'),
    /**
     * The environment (image) the session's sandbox starts from: a template serving `language` (container
     * backends); absent, the language's default.
     */
    template: TemplateName.optional(),
    /** Per-cell defaults; memory_mb applies to the whole session sandbox. */
    limits: LimitsInput.default({}),
    /** Sessions have no network (egress through the proxy is for one-shot executions). */
    network: z
      .object({ egress: z.literal('none') })
      .strict()
      .default({ egress: 'none' }),
    idle_timeout_seconds: z.number().int().min(1).max(SESSION_BOUNDS.idleSeconds).optional(),
    max_lifetime_seconds: z.number().int().min(1).max(SESSION_BOUNDS.lifetimeSeconds).optional(),
    /**
     * At the idle timeout: `pause` (a backend that can snapshot, else 422 `snapshot_unsupported`) or `close`.
     * @default the server's (AIRLOCK_SESSION_ON_IDLE), `close` where the backend cannot snapshot
     */
    on_idle: SessionOnIdle.optional(),
    metadata: Metadata.default({}),
    /** Where to post this session's lifecycle events (signed webhooks). */
    callback: Callback.optional(),
    /** Start from this snapshot (of the same language and backend) instead of a fresh interpreter: a fork. */
    from_snapshot: z.string().max(64).optional(),
    /**
     * NATS mode: when the worker hosting the session is lost, the next cell resumes it on another worker from
     * its latest snapshot (its state as of that snapshot) instead of ending it `worker_lost`.
     * @default false
     */
    resume_on_worker_loss: z.boolean().optional(),
  })
  .strict();

/** PATCH /v1/sessions/:id: new idle timeout and/or lifetime (counted from the session's creation), within the ceilings. */
export const SessionUpdate = z
  .object({
    idle_timeout_seconds: z.number().int().min(1).max(SESSION_BOUNDS.idleSeconds).optional(),
    max_lifetime_seconds: z.number().int().min(1).max(SESSION_BOUNDS.lifetimeSeconds).optional(),
  })
  .strict()
  .refine((u) => u.idle_timeout_seconds !== undefined || u.max_lifetime_seconds !== undefined, {
    message: 'must set idle_timeout_seconds or max_lifetime_seconds',
  });
export type SessionUpdate = z.infer<typeof SessionUpdate>;

export const Session = z.object({
  id: z.string(),
  tenant: z.string(),
  language: SessionLanguage,
  backend: Backend,
  /** The template the session started from; null: the language's default image. */
  template: TemplateName.nullable().default(null),
  status: SessionStatus,
  limits: ResolvedLimits,
  created_at: z.string(),
  last_used_at: z.string(),
  /** The earlier of the idle and the lifetime expiry (ISO); of a session paused at its idle timeout, the lifetime's. */
  expires_at: z.string(),
  /** What its idle timeout does (`pause` only where the backend can snapshot). */
  on_idle: SessionOnIdle.default('close'),
  cells: z.number().int(),
  closed_at: z.string().nullable(),
  closed_reason: SessionClosedReason.nullable(),
  metadata: z.record(z.string(), z.string()),
});

export const CellRequest = z
  .object({
    code: Code,
    /** Written into the session's working folder before the cell runs; they stay there. */
    files: Files,
    stdin: Stdin,
    /** wall_time_ms, cpu_time_ms and output_bytes of this cell; memory is the session's. */
    limits: LimitsInput.omit({ memory_mb: true }).strict().default({}),
  })
  .strict();

const SESSION_ID = idKind('ses');
export const newSessionId = (): string => SESSION_ID.make();
export const isSessionId = (value: string): boolean => SESSION_ID.test(value);

export type SessionLanguage = z.infer<typeof SessionLanguage>;
export type SessionStatus = z.infer<typeof SessionStatus>;
export type SessionClosedReason = z.infer<typeof SessionClosedReason>;
export type SessionOnIdle = z.infer<typeof SessionOnIdle>;
export type SessionRequestInput = z.input<typeof SessionRequest>;
export type SessionRequest = z.output<typeof SessionRequest>;
export type Session = z.infer<typeof Session>;
export type CellRequestInput = z.input<typeof CellRequest>;
export type CellRequest = z.output<typeof CellRequest>;
