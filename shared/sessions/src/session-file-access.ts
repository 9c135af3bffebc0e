// The session files API as the service offers it: the caller's open session only (another tenant's is not
// found), paths by the request `files` rule (FilePath), contents bounded in size, and every use audited by
// operation, path, size and sha256 before its answer leaves (an upload is audited before it is written; a
// download after it is read and before it is returned). Never logs or audits a file's content.

import { createHash } from 'node:crypto';
import { type AuditSink, sessionFileEntry } from '@airlock/audit';
import { AirlockError, FilePath } from '@airlock/protocol';
import type { SessionFileEntry } from '@airlock/sandbox';
import { auditFailure } from './admission/admission.ts';
import type { Sessions } from './sessions.ts';

type Headers = Record<string, unknown>;

export interface SessionFileAccessDeps {
  sessions: Sessions;
  audit: AuditSink;
  /** Largest file moved in or out. */
  maxFileBytes: number;
  /** Most entries one listing answers. @default 1000 */
  maxListEntries?: number;
}

export interface StoredFile {
  path: string;
  size: number;
  sha256: string;
}

const sha256 = (content: Uint8Array) => createHash('sha256').update(content).digest('hex');

/** The path as the request `files` rule allows it, else `invalid_request` naming `path`. */
export function checkedPath(path: string): string {
  const parsed = FilePath.safeParse(path);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]?.message ?? 'is not a valid path';
    throw new AirlockError('invalid_request', `path ${JSON.stringify(path.slice(0, 300))} ${issue}`, {
      field: 'path',
    });
  }
  return parsed.data;
}

export class SessionFileAccess {
  readonly #deps: SessionFileAccessDeps;

  constructor(deps: SessionFileAccessDeps) {
    this.#deps = deps;
  }

  get maxFileBytes(): number {
    return this.#deps.maxFileBytes;
  }

  async put(headers: Headers, id: string, rawPath: string, content: Uint8Array): Promise<StoredFile> {
    const { caller, session, files } = await this.#deps.sessions.filesOf(headers, id);
    const path = checkedPath(rawPath);
    if (content.byteLength > this.#deps.maxFileBytes) {
      throw new AirlockError(
        'payload_too_large',
        `a session file is at most ${this.#deps.maxFileBytes} bytes`,
      );
    }
    const stored = { path, size: content.byteLength, sha256: sha256(content) };
    await this.#audit(sessionFileEntry(session, caller, { op: 'put', ...stored }));
    await files.write(path, content);
    return stored;
  }

  async get(headers: Headers, id: string, rawPath: string): Promise<{ file: StoredFile; content: Buffer }> {
    const { caller, session, files } = await this.#deps.sessions.filesOf(headers, id);
    const path = checkedPath(rawPath);
    const content = await files.read(path, this.#deps.maxFileBytes);
    const file = { path, size: content.length, sha256: sha256(content) };
    await this.#audit(sessionFileEntry(session, caller, { op: 'get', ...file }));
    return { file, content };
  }

  async list(
    headers: Headers,
    id: string,
    rawPath: string | undefined,
  ): Promise<{ path: string; entries: SessionFileEntry[]; truncated: boolean }> {
    const { caller, session, files } = await this.#deps.sessions.filesOf(headers, id);
    const path = rawPath === undefined || rawPath === '' || rawPath === '.' ? '.' : checkedPath(rawPath);
    const listing = await files.list(path === '.' ? '' : path, this.#deps.maxListEntries ?? 1000);
    await this.#audit(sessionFileEntry(session, caller, { op: 'list', path }));
    return { path, ...listing };
  }

  async remove(headers: Headers, id: string, rawPath: string): Promise<{ path: string; deleted: true }> {
    const { caller, session, files } = await this.#deps.sessions.filesOf(headers, id);
    const path = checkedPath(rawPath);
    await this.#audit(sessionFileEntry(session, caller, { op: 'delete', path }));
    await files.remove(path);
    return { path, deleted: true };
  }

  async #audit(entry: Parameters<AuditSink['append']>[0]): Promise<void> {
    try {
      await this.#deps.audit.append(entry);
    } catch (error) {
      throw auditFailure(error);
    }
  }
}
