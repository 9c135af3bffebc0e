export { CALLBACK_URL_MAX_CHARS, Callback, DeliveryAttempt, DeliveryLogPage } from './callback.ts';
export { Actor, type Caller } from './caller.ts';
export { canonicalJson } from './canonical-json.ts';
export { cellRunFields } from './cell-run.ts';
export { AirlockError, ERROR_CODES, type ErrorBody, type ErrorCode, isAirlockError } from './errors.ts';
export {
  CellException,
  CompileResult,
  EgressRecord,
  Execution,
  ExecutionEvent,
  ExecutionResult,
  MimeBundle,
  OUTCOMES,
  Outcome,
  OutputFile,
  type OutputStream,
  ResolvedLimits,
  STATUSES,
  Status,
  Usage,
} from './execution.ts';
export { acceptedKeys, closestKey, type FieldIssue, fieldIssues, fieldPath } from './field-issues.ts';
export { isExecutionId, newExecutionId } from './ids.ts';
export {
  type DuplicateKey,
  duplicateKeyError,
  findDuplicateKey,
  jsonSyntaxError,
  parseJsonBody,
} from './json-body.ts';
export { LIFECYCLE_EVENT_TYPES, LifecycleEvent, LifecycleEventType } from './lifecycle-event.ts';
export {
  aboveServerCeiling,
  LIMIT_KEYS,
  type LimitKey,
  type LimitPolicy,
  resolveLimits,
} from './limits.ts';
export {
  BACKEND_NAMES,
  BACKENDS,
  Backend,
  BackendName,
  COMPILED_LANGUAGES,
  canonicalEgressHost,
  EgressAllowRule,
  ExecutionRequest,
  type ExecutionRequestInput,
  FIELD_BOUNDS,
  FileInput,
  FilePath,
  LANGUAGES,
  Language,
  LimitsInput,
  NetworkInput,
  TemplateName,
} from './request.ts';
export { emptyResult } from './results.ts';
export {
  CellRequest,
  type CellRequestInput,
  isSessionId,
  newSessionId,
  SESSION_BOUNDS,
  SESSION_CLOSED_REASONS,
  SESSION_LANGUAGES,
  SESSION_ON_IDLE,
  SESSION_STATUSES,
  Session,
  SessionClosedReason,
  SessionLanguage,
  SessionOnIdle,
  SessionRequest,
  type SessionRequestInput,
  SessionStatus,
  SessionUpdate,
} from './session.ts';
export { SessionFileListing, StoredSessionFile } from './session-files.ts';
export { isSnapshotId, newSnapshotId, Snapshot, SnapshotList } from './snapshot.ts';
export { TEMPLATE_STATES, Template, TemplateState } from './template.ts';
export { parseOrThrow, validationError } from './validation.ts';
export { VERSION } from './version.ts';
export { limitsWithin, type RequestSchemas, requestSchemasWithin } from './within-ceilings.ts';
export {
  DURATION_BUCKETS_SECONDS,
  Worker,
  WorkerDurations,
  WorkerPool,
  WorkerRunCount,
  WorkerRunStats,
  WorkerStatus,
  WorkerTemplate,
} from './worker.ts';
