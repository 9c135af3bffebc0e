// The one session wire shape the client promises beyond the protocol's schemas (which index.ts re-exports): a
// cell's execution (POST /v1/sessions/:id/executions) always carries its session_id.

import { Execution } from '@airlock/protocol';
import { z } from 'zod';

/** An execution run as a session cell: the normal execution plus the session it belongs to. */
export const SessionExecution = Execution.extend({ session_id: z.string() });
export type SessionExecution = z.infer<typeof SessionExecution>;
