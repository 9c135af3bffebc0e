export { buildGateway, type GatewayDeps } from './app.ts';
export {
  type Authorizer,
  LOCAL_CALLER,
  localAuthorizer,
  type SubmissionGrant,
} from './authorizer.ts';
export { createAuthorizer } from './authorizer-setup.ts';
export { type EmbeddedOptions, type EmbeddedService, startEmbedded } from './embedded.ts';
export { toAirlockError } from './error-handler.ts';
export { createMetrics, type GatewayMetrics } from './metrics.ts';
export { type ScaledGateway, type ScaledOptions, startScaled } from './scaled.ts';
export { type SessionHost, type SessionHostDeps, startSessionHost } from './session-host/session-host.ts';
export { ExecutionSubmitter, type SubmissionDeps } from './submission.ts';
export { TokenAuthorizer, type TokenAuthorizerOptions } from './token-authorizer.ts';
