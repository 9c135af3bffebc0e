// Session wire shapes (POST/GET/DELETE /v1/sessions, POST /v1/sessions/:id/executions): the protocol's schemas,
// plus the one shape the client promises beyond them — a cell's execution always carries its session_id.

import { Execution } from '@airlock/protocol';
import { z } from 'zod';

export {
  CellRequest,
  type CellRequestInput,
  SESSION_LANGUAGES,
  Session,
  SessionRequest,
  type SessionRequestInput,
  Snapshot,
  SnapshotList,
} from '@airlock/protocol';

/** An execution run as a session cell: the normal execution plus the session it belongs to. */
export const SessionExecution = Execution.extend({ session_id: z.string() });
export type SessionExecution = z.infer<typeof SessionExecution>;

/** A file written into a session by the files API: its path, size and sha256. */
export const StoredSessionFile = z.object({ path: z.string(), size: z.number().int(), sha256: z.string() });
export type StoredSessionFile = z.infer<typeof StoredSessionFile>;

/** A folder of a session's working folder (links are listed as links, never followed). */
export const SessionFileListing = z.object({
  path: z.string(),
  entries: z.array(
    z.object({
      name: z.string(),
      type: z.enum(['file', 'directory', 'symlink', 'other']),
      size: z.number().int(),
      mtime: z.string(),
    }),
  ),
  truncated: z.boolean(),
});
export type SessionFileListing = z.infer<typeof SessionFileListing>;
