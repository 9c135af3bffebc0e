// Test fixture of the listing and event routes: the real gateway (routes, schemas, token authorizer, submitter)
// over the real in-process queue and a real SQLite store file, with lifecycle events; two tenants (`acme`,
// `globex`). Jobs are run by a worker that ends each one as its metadata says (`want=error` → error), so
// listings see finished executions without sandboxes. For tests only: not exported from the package.

import { join } from 'node:path';
import { FileAuditLog } from '@airlock/audit';
import { parseTenantPolicies } from '@airlock/auth';
import type { TestIssuer } from '@airlock/auth/testing';
import { emptyResult } from '@airlock/protocol';
import { MemoryJobQueue } from '@airlock/queue';
import { TokenAuthorizer } from '@airlock/sessions';
import { testVerifier } from '@airlock/sessions/testing';
import {
  EventingExecutionStore,
  EventingSessionStore,
  LifecycleEventFeed,
  SqliteStore,
} from '@airlock/store';
import type { FastifyInstance } from 'fastify';
import { startTestGateway } from '../gateway-fixture.ts';
import { storeListing } from './store-listing.ts';

const POLICY = {
  languages: ['javascript', 'typescript'],
  backends: ['isolate'],
  max_concurrent: 1000,
  max_queued: 5000,
  submissions_per_minute: 1_000_000,
};

export interface ListingGateway extends AsyncDisposable {
  app: FastifyInstance;
  store: SqliteStore;
  queue: MemoryJobQueue;
  events: LifecycleEventFeed;
}

/** The gateway over the store file in `dir` (opened again on the same file after a close). */
export async function startListingGateway(dir: string, issuer: TestIssuer): Promise<ListingGateway> {
  const audit = await FileAuditLog.open(join(dir, 'audit.jsonl'));
  const store = SqliteStore.open({ path: join(dir, 'airlock.db'), retentionMs: 3_600_000 });
  const events = new LifecycleEventFeed(store.events, () => {});
  const records = {
    executions: new EventingExecutionStore(store.executions, events),
    sessions: new EventingSessionStore(store.sessions, events),
  };
  const queue = new MemoryJobQueue({ concurrency: 8, maxQueued: 10_000, store: records.executions });
  queue.consume(async ({ execution }) =>
    execution.metadata.want === 'error'
      ? { ...emptyResult('error', 'asked to fail'), exit_code: 1 }
      : { ...emptyResult('success', ''), exit_code: 0, reason: null },
  );
  const verifier = testVerifier(issuer);
  const policies = parseTenantPolicies({ tenants: { acme: POLICY, globex: POLICY } }, 'test');
  const authorizer = new TokenAuthorizer({ verifier, policies, defaultMaxExecutions: 1_000_000 });
  const { app } = await startTestGateway({
    queue,
    audit,
    authorizer,
    listing: storeListing(store, records, events),
  });
  return {
    app,
    store,
    queue,
    events,
    async [Symbol.asyncDispose]() {
      await app.close();
      await queue.close();
      store.close();
      await audit.close();
    },
  };
}
