// @airlock/client: the typed client of the Airlock REST API, its wire schemas, file helpers, and the
// code-interpreter tool schemas. Explicit exports only. The wire schemas are the protocol's zod schemas,
// re-exported so a consumer of the published package gets them (and their types) from `@airlock/client` alone.

export {
  BACKENDS,
  Backend,
  Callback,
  CellException,
  CellRequest,
  type CellRequestInput,
  DeliveryAttempt,
  DeliveryLogPage,
  ERROR_CODES,
  type ErrorCode,
  Execution,
  ExecutionRequest,
  type ExecutionRequestInput,
  ExecutionResult,
  FileInput,
  LANGUAGES,
  Language,
  LIFECYCLE_EVENT_TYPES,
  LifecycleEvent,
  LifecycleEventType,
  LimitsInput,
  MimeBundle,
  OUTCOMES,
  Outcome,
  OutputFile,
  ResolvedLimits,
  SESSION_LANGUAGES,
  Session,
  SessionFileListing,
  SessionRequest,
  type SessionRequestInput,
  Snapshot,
  SnapshotList,
  STATUSES,
  Status,
  StoredSessionFile,
  Usage,
} from '@airlock/protocol';
export {
  AirlockClient,
  type AirlockClientOptions,
  type CallOptions,
  type SubmitOptions,
  type Submitted,
} from './client.ts';
export {
  AirlockClientError,
  type AirlockClientErrorInit,
  CLIENT_ERROR_CODES,
  type ClientErrorCode,
  isAirlockClientError,
} from './errors.ts';
export { ExecutionStreamEvent } from './events.ts';
export { DOWNLOAD_MAX_BYTES, DownloadFileInput, UploadFileInput } from './file-tools.ts';
export {
  type InputFile,
  inputFile,
  outputFileBytes,
  outputFilePath,
  readInputFile,
  writeOutputFiles,
} from './files.ts';
export type { FetchLike } from './http.ts';
export type {
  EventPage,
  EventQuery,
  ExecutionFilters,
  ExecutionPage,
  FeedEvent,
  ListFilters,
  SessionFilters,
  SessionPage,
} from './listing.ts';
export { Runtime, RuntimesResponse, ServerLimits, TemplatesResponse } from './runtimes.ts';
export { SessionExecution } from './session-schemas.ts';
export {
  PauseSessionInput,
  ResumeSessionInput,
  SESSION_STATE_TOOLS,
  UpdateSessionInput,
} from './session-state-tools.ts';
export {
  closeSessionToolSchema,
  createSessionToolSchema,
  downloadFileToolSchema,
  type FunctionToolSchema,
  listRuntimesToolSchema,
  pauseSessionToolSchema,
  resumeSessionToolSchema,
  runCodeToolSchema,
  snapshotSessionToolSchema,
  toolSchemas,
  updateSessionToolSchema,
  uploadFileToolSchema,
} from './tool-schemas.ts';
export {
  CloseSessionInput,
  CreateSessionInput,
  ListRuntimesInput,
  RunCodeInput,
  SnapshotSessionInput,
  TOOL_DEFINITIONS,
  type ToolCatalog,
  type ToolDefinition,
  type ToolDefinitions,
  toolDefinitions,
} from './tools.ts';
