export { AirlockError, ERROR_CODES, type ErrorBody, type ErrorCode, isAirlockError } from './errors.ts';
export {
  Execution,
  ExecutionEvent,
  ExecutionResult,
  OUTCOMES,
  Outcome,
  OutputFile,
  type OutputStream,
  ResolvedLimits,
  STATUSES,
  Status,
  Usage,
} from './execution.ts';
export { isExecutionId, newExecutionId } from './ids.ts';
export { type LimitPolicy, resolveLimits } from './limits.ts';
export {
  BACKENDS,
  Backend,
  ExecutionRequest,
  type ExecutionRequestInput,
  FIELD_BOUNDS,
  FileInput,
  LANGUAGES,
  Language,
  LimitsInput,
} from './request.ts';
export { emptyResult } from './results.ts';
export { fieldPath, parseOrThrow, validationError } from './validation.ts';
