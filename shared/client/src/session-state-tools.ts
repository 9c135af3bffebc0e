// The tools that keep a session for later, as a model sees them (pause_session, resume_session,
// update_session): names, descriptions and argument schemas over POST /v1/sessions/:id/pause and /resume and
// PATCH /v1/sessions/:id. Must never advertise a timeout the protocol's bounds would refuse.

import { SESSION_BOUNDS } from '@airlock/protocol';
import { z } from 'zod';

const SessionId = z.string().min(1).max(64).describe('The id returned by create_session (ses_…).');

export const PauseSessionInput = z.object({ session_id: SessionId }).strict();
export const ResumeSessionInput = z.object({ session_id: SessionId }).strict();
export const UpdateSessionInput = z
  .object({
    session_id: SessionId,
    idle_timeout_seconds: z
      .number()
      .int()
      .min(1)
      .max(SESSION_BOUNDS.idleSeconds)
      .optional()
      .describe('New idle timeout: seconds without a cell before the session closes (or pauses).'),
    max_lifetime_seconds: z
      .number()
      .int()
      .min(1)
      .max(SESSION_BOUNDS.lifetimeSeconds)
      .optional()
      .describe('New lifetime, counted from when the session was created; it ends the session however busy.'),
  })
  .strict();

/** The tools by name; each description says what happens to the session and when it is refused. */
export const SESSION_STATE_TOOLS = {
  pause_session: {
    name: 'pause_session',
    description: [
      'Pause a session between cells: its interpreter memory and working folder are saved and its sandbox is',
      'freed (status paused). Nothing is lost: the next run_code in it (or resume_session) restores it first.',
      'Use it before a long wait. Python sessions on gvisor only; other sessions answer snapshot_unsupported.',
    ].join(' '),
    input: PauseSessionInput,
  },
  resume_session: {
    name: 'resume_session',
    description: [
      'Resume a paused session now (run_code would also resume it on its own). Returns the session, ready;',
      'a session that is not paused is returned as it is.',
    ].join(' '),
    input: ResumeSessionInput,
  },
  update_session: {
    name: 'update_session',
    description: [
      "Change a session's idle timeout and/or lifetime (give at least one), within the server's ceilings",
      '(above one is an error naming the field). Returns the session with its new expires_at.',
    ].join(' '),
    input: UpdateSessionInput,
  },
} as const;

export type PauseSessionInput = z.infer<typeof PauseSessionInput>;
export type ResumeSessionInput = z.infer<typeof ResumeSessionInput>;
export type UpdateSessionInput = z.infer<typeof UpdateSessionInput>;
