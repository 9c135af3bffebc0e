export { buildGateway, type GatewayDeps } from './app.ts';
export { type EmbeddedOptions, type EmbeddedService, startEmbedded } from './embedded.ts';
export { toAirlockError } from './error-handler.ts';
export { createMetrics, type GatewayMetrics } from './metrics.ts';
export { type ScaledGateway, type ScaledOptions, startScaled } from './scaled.ts';
export { ExecutionSubmitter, type SubmissionDeps } from './submission.ts';
