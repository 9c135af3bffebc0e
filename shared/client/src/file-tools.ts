// The session-files tools as a model sees them (upload_file, download_file): names, descriptions and argument
// schemas over the session files API. Invariant: a file a tool moves is at most DOWNLOAD_MAX_BYTES, whatever the
// server would allow.

import { FilePath } from '@airlock/protocol';
import { z } from 'zod';

/** Largest file upload_file sends and download_file returns (the server may bound it lower). */
export const DOWNLOAD_MAX_BYTES = 4 * 1024 * 1024;

const SessionId = z.string().min(1).max(64).describe('The id returned by create_session (ses_…).');
const SessionFilePath = FilePath.describe(
  'Path relative to the session working folder (/work): [A-Za-z0-9._-] segments separated by /, no . or ..',
);
const Encoding = z
  .enum(['utf8', 'base64'])
  .default('utf8')
  .describe('utf8 for text (default), base64 for binary data.');

export const UploadFileInput = z
  .object({
    session_id: SessionId,
    path: SessionFilePath,
    content: z
      .string()
      .max(Math.ceil((DOWNLOAD_MAX_BYTES * 4) / 3) + 4)
      .describe('The file content, as text or base64 (see encoding).'),
    encoding: Encoding,
  })
  .strict();

export const DownloadFileInput = z
  .object({ session_id: SessionId, path: SessionFilePath, encoding: Encoding })
  .strict();

export const UPLOAD_FILE_DESCRIPTION =
  "Write a file into a session's working folder (/work) so later cells can open it by its relative path, " +
  'e.g. data/input.csv (folders are created). Replaces a file of that name. At most 4 MiB; links are never ' +
  'followed. Returns the path, size and sha256.';

export const DOWNLOAD_FILE_DESCRIPTION =
  "Read a file from a session's working folder (/work), e.g. one a cell wrote. utf8 returns it as text; use " +
  'base64 for binary files such as images. At most 4 MiB; links are never followed.';

export const FILE_TOOLS = {
  upload_file: { name: 'upload_file', description: UPLOAD_FILE_DESCRIPTION, input: UploadFileInput },
  download_file: { name: 'download_file', description: DOWNLOAD_FILE_DESCRIPTION, input: DownloadFileInput },
} as const;

export type UploadFileInput = z.infer<typeof UploadFileInput>;
export type DownloadFileInput = z.infer<typeof DownloadFileInput>;
