// Session wire shapes (POST/GET/DELETE /v1/sessions, POST /v1/sessions/:id/executions): the protocol's schemas,
// plus the one shape the client promises beyond them — a cell's execution always carries its session_id.

import { Execution } from '@airlock/protocol';
import { z } from 'zod';

export {
  CellRequest,
  type CellRequestInput,
  SESSION_LANGUAGES,
  Session,
  SessionFileListing,
  SessionRequest,
  type SessionRequestInput,
  Snapshot,
  SnapshotList,
  StoredSessionFile,
} from '@airlock/protocol';

/** An execution run as a session cell: the normal execution plus the session it belongs to. */
export const SessionExecution = Execution.extend({ session_id: z.string() });
export type SessionExecution = z.infer<typeof SessionExecution>;
