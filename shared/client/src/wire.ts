// The wire shapes of executions that the client's public surface speaks of, re-exported from the protocol's zod
// schemas so a consumer of the published package gets them (and their types) from `@airlock/client` alone.

export {
  BACKENDS,
  Backend,
  CellException,
  ERROR_CODES,
  type ErrorCode,
  Execution,
  ExecutionRequest,
  type ExecutionRequestInput,
  ExecutionResult,
  FileInput,
  LANGUAGES,
  Language,
  LimitsInput,
  MimeBundle,
  OUTCOMES,
  Outcome,
  OutputFile,
  ResolvedLimits,
  STATUSES,
  Status,
  Usage,
} from '@airlock/protocol';
