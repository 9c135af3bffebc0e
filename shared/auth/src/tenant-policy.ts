// Tenant policy: what each tenant may run at most (languages, backends, limit ceilings, egress hosts,
// credential names, sessions) and its quotas (concurrent and queued executions, submissions per minute, stored
// snapshots), loaded once from a JSON file, checked, and frozen. Must never guess a missing quota or widen an
// omitted allow-list: hosts and credentials default to none, sessions to off, snapshots to the server's quota,
// and a tenant with no entry (and no `default` entry) has no policy at all.

import { readFile } from 'node:fs/promises';
import { Language, LifecycleEventType, TemplateName } from '@airlock/protocol';
import { z } from 'zod';
import { AuthConfigError } from './config-error.ts';
import { AllowedBackend, CredentialName, HostPattern, LimitCeilings, TenantName } from './constraints.ts';
import { firstIssue } from './issues.ts';
import { SnapshotAllowance } from './snapshot-ceilings.ts';

/** A tenant-level webhook subscription: every event of these types about the tenant's subjects goes to `url`. */
export const WebhookSubscription = z.strictObject({
  /** Checked like a request's callback URL when the service starts. */
  url: z.string().min(1).max(2048),
  events: z.array(LifecycleEventType).min(1),
  /** Name of the `whsec_` signing secret in the secrets provider (never the secret itself). */
  secret_ref: CredentialName,
});
export type WebhookSubscription = z.infer<typeof WebhookSubscription>;

export const TenantPolicy = z.strictObject({
  languages: z.array(Language),
  backends: z.array(AllowedBackend),
  /** Templates a request may name; absent: every template of the server. A language's default always runs. */
  templates: z.array(TemplateName).optional(),
  limits: LimitCeilings.default({}),
  egress_hosts: z.array(HostPattern).default([]),
  credentials: z.array(CredentialName).default([]),
  sessions: z.boolean().default(false),
  /**
   * Session snapshots: false forbids them; `{max_count, max_bytes}` bounds the tenant's stored snapshots below
   * the server's quota (AIRLOCK_SNAPSHOT_MAX_COUNT / AIRLOCK_SNAPSHOT_MAX_BYTES). @default the server's quota
   */
  snapshots: SnapshotAllowance.optional(),
  /**
   * Whether this tenant's tokens that carry the `airlock:operator` scope may read the operator console's data
   * (service statistics, audit records). Off unless the server's operator says so here.
   */
  operator: z.boolean().default(false),
  /** Executions of this tenant running at once. */
  max_concurrent: z.int().min(1),
  /** Executions of this tenant waiting to run, beyond those running. */
  max_queued: z.int().min(0),
  /** Sustained submission rate; also the burst a quiet tenant may send at once. */
  submissions_per_minute: z.int().min(1),
  /**
   * Hosts a request's `callback.url` may name; absent: any host the server's address checks pass (a callback
   * carries the tenant's own events only).
   */
  callback_hosts: z.array(HostPattern).optional(),
  /** Secret (name) that signs the callbacks of this tenant's requests. @default webhook.<tenant> */
  callback_secret_ref: CredentialName.optional(),
  /** Tenant-level webhook subscriptions. @default none */
  webhooks: z.array(WebhookSubscription).max(16).default([]),
});
export type TenantPolicy = z.infer<typeof TenantPolicy>;

/** The file: `{ "tenants": { "<id>": TenantPolicy, ... }, "default"?: TenantPolicy }`. */
export const TenantPolicyFile = z.strictObject({
  tenants: z.record(TenantName, TenantPolicy),
  /** For tenants without an entry of their own; without it such tenants are refused. */
  default: TenantPolicy.optional(),
});
export type TenantPolicyFile = z.infer<typeof TenantPolicyFile>;

export interface TenantPolicies {
  /** The tenant's own entry, else the default entry, else undefined (refuse the tenant). */
  forTenant(tenant: string): TenantPolicy | undefined;
  /** Tenants with an entry of their own. */
  readonly tenants: readonly string[];
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** Checks an already-parsed policy document; `source` names it in errors (a path, or e.g. 'inline'). */
export function parseTenantPolicies(value: unknown, source: string): TenantPolicies {
  const parsed = TenantPolicyFile.safeParse(value);
  if (!parsed.success) {
    const { field, problem } = firstIssue(parsed.error);
    throw new AuthConfigError(source, field, problem);
  }
  const file = deepFreeze(parsed.data);
  const own = new Map(Object.entries(file.tenants));
  return Object.freeze({
    forTenant: (tenant: string) => own.get(tenant) ?? file.default,
    tenants: Object.freeze([...own.keys()]),
  });
}

/** Reads and checks a policy file; throws AuthConfigError naming the file and the field. */
export async function loadTenantPolicies(path: string): Promise<TenantPolicies> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new AuthConfigError(path, '', `cannot read the tenant policy file (${(cause as Error).message})`, {
      cause,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new AuthConfigError(path, '', `is not valid JSON (${(cause as Error).message})`, { cause });
  }
  return parseTenantPolicies(json, path);
}
