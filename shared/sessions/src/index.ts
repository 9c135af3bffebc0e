// @airlock/sessions: a sandbox session's life (opening, cells, files, snapshots, pause and resume) over the
// session backends, the worker's session host of NATS mode and the wire gateways call it by, and the authorizer
// and admission every surface (REST, NATS, MCP, sessions) shares. Imports no service: the gateway and the worker
// both import it, never the other way.

export {
  AUDIT_RETRY_AFTER_SECONDS,
  admitWithRecord,
  auditFailure,
  recordRefusal,
} from './admission/admission.ts';
export {
  type Admission,
  type AdmissionKind,
  type Authorizer,
  FREE_ADMISSION,
  LOCAL_CALLER,
  localAuthorizer,
  type SubmissionGrant,
} from './admission/authorizer.ts';
export { createAuthorizer } from './admission/authorizer-setup.ts';
export { TokenAuthorizer, type TokenAuthorizerOptions } from './admission/token-authorizer.ts';
export { type Callbacks, checkCallback } from './callbacks.ts';
export { SessionBackends, startSessionBackends } from './session-backends.ts';
export type { SessionSettings, SessionsDeps } from './session-deps.ts';
export { checkedPath, type StoredFile } from './session-file-access.ts';
export { type SessionHost, type SessionHostDeps, startSessionHost } from './session-host/session-host.ts';
export { type HostedSession, SessionRecords } from './session-host/session-records.ts';
export {
  decodeAnswer,
  encodeCall,
  fromBase64,
  headersOf,
  type SessionCall,
  sessionsSubject,
  toBase64,
  tooLarge,
} from './session-host/session-wire.ts';
export { limitPolicy, sessionSettings, snapshotStoreOptions } from './session-settings.ts';
export { Sessions, type SessionsApi } from './sessions.ts';
export { FileSnapshotStore } from './snapshots/file-snapshot-store.ts';
export { ObjectSnapshotStore } from './snapshots/object-snapshot-store.ts';
export type { SnapshotStore } from './snapshots/snapshot-store.ts';
export { SnapshotSweeper } from './snapshots/snapshot-sweeper.ts';
