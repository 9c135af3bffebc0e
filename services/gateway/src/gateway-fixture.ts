// Test fixture of the gateway's route unit tests: the real submitter (an isolate-only fleet, small limits) and
// the real gateway (routes, schemas, metrics) over what the test brings: its queue, audit log and authorizer,
// and optionally webhooks and listing. For tests only: not exported from the package.
// Invariant: every test gateway has the same submission limits (SUBMISSION_TEST_LIMITS) and request limits
// (GATEWAY_TEST_LIMITS), is always ready, reports no runtimes, and logs nothing.

import type { AuditSink } from '@airlock/audit';
import { createLogger } from '@airlock/logging';
import type { JobQueue } from '@airlock/queue';
import type { Authorizer } from '@airlock/sessions';
import type { FastifyInstance } from 'fastify';
import { buildGateway, type GatewayDeps } from './app.ts';
import { createMetrics } from './metrics.ts';
import { fleetRegistry } from './nats/fleet-registry.ts';
import { READY } from './readiness.ts';
import { ExecutionSubmitter } from './submission.ts';
import type { Webhooks } from './webhooks/webhooks.ts';

/** The defaults and ceilings of a run's limits in the test gateways. */
export const SUBMISSION_TEST_LIMITS = {
  defaults: { wall_time_ms: 1000, cpu_time_ms: 1000, memory_mb: 64, output_bytes: 1024 },
  ceilings: { wall_time_ms: 10_000, cpu_time_ms: 10_000, memory_mb: 256, output_bytes: 1_000_000 },
};

/** The request limits of a test gateway (`buildGateway`'s `limits`): small bounds, the real server's ceilings. */
const GATEWAY_TEST_LIMITS = {
  bodyLimitBytes: 65_536,
  maxWaitSeconds: 5,
  maxWatchers: 4,
  defaults: { wall_time_ms: 10_000, cpu_time_ms: 10_000, memory_mb: 128, output_bytes: 1_048_576 },
  ceilings: { wall_time_ms: 60_000, cpu_time_ms: 60_000, memory_mb: 1024, output_bytes: 16_777_216 },
};

export interface TestGatewayParts {
  queue: JobQueue;
  audit: AuditSink;
  authorizer: Authorizer;
  webhooks?: Webhooks;
  listing?: GatewayDeps['listing'];
}

export interface TestGateway {
  app: FastifyInstance;
  submitter: ExecutionSubmitter;
}

export async function startTestGateway(parts: TestGatewayParts): Promise<TestGateway> {
  const { queue, audit, authorizer, webhooks, listing } = parts;
  const submitter = new ExecutionSubmitter({
    queue,
    registry: fleetRegistry(['isolate']),
    audit,
    authorizer,
    limits: SUBMISSION_TEST_LIMITS,
    ...(webhooks ? { webhooks } : {}),
  });
  const app = await buildGateway({
    logger: createLogger({ level: 'silent' }),
    queue,
    submitter,
    metrics: createMetrics(() => queue.stats()),
    authorizer,
    ...(webhooks ? { webhooks } : {}),
    ...(listing ? { listing } : {}),
    runtimes: () => [],
    ready: () => READY,
    limits: GATEWAY_TEST_LIMITS,
    version: 'test',
  });
  return { app, submitter };
}
