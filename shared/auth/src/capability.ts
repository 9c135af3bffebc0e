// The effective capability of one request: request ∩ intent token ∩ tenant policy. A request that asks for
// anything outside the intersection is refused with a reason naming the constraint and who set it; it is
// never clamped, so the broker sees exactly what was denied. Must never widen: an absent intent field leaves
// the tenant policy as the bound, never "anything".

import {
  BACKEND_NAMES,
  type Backend,
  type BackendName,
  canonicalEgressHost,
  type ExecutionRequest,
  type Language,
  LIMIT_KEYS,
  type LimitPolicy,
  type ResolvedLimits,
} from '@airlock/protocol';
import type { LimitCeilings } from './constraints.ts';
import { hostAllowed } from './hosts.ts';
import type { TenantPolicy } from './tenant-policy.ts';
import type { Principal } from './verifier.ts';

/**
 * What the capability is computed from: an ExecutionRequest fits as is. The access fields are what the surface
 * derives from the request: the hosts of its network's allow rules, its credentials, and whether it is a session.
 */
export type CapabilityRequest = Pick<ExecutionRequest, 'language' | 'backend' | 'limits'> & {
  /** The template the request names; absent, the language's default template (not narrowed). */
  template?: string | undefined;
  /** Egress hosts (or `*.domain` patterns) the run asks to reach. @default [] */
  egress_hosts?: readonly string[];
  /** Credential bindings the run asks the egress proxy to inject. @default [] */
  credentials?: readonly string[];
  /** True when the request opens or uses a session. @default false */
  session?: boolean;
  /** The host name of the request's callback URL (canonical), when it names one. */
  callback_host?: string;
};

/** What one run is allowed; JSON-serialisable for the audit record. */
export interface Capability {
  language: Language;
  /** As requested; `auto` chooses among `backends`. */
  backend: Backend;
  /** Backends the run may use: the requested one, or for `auto` every one both intent and tenant allow. */
  backends: BackendName[];
  /** The lower of the intent and tenant ceilings per limit; a missing key means only the server ceiling applies. */
  ceilings: LimitCeilings;
  /** Canonical; exactly the hosts requested (each allowed by both). */
  egress_hosts: string[];
  /** Exactly the credentials requested (each allowed by both). */
  credentials: string[];
  /** Whether this run is (part of) a session. */
  session: boolean;
  /** The template requested, allowed by both; absent for the language's default. */
  template?: string;
}

export type CapabilityDecision =
  | { ok: true; capability: Capability }
  | { ok: false; reason: string; field: string };

const INTENT = 'the intent token';
const TENANT = 'the tenant policy';

const deny = (field: string, reason: string): CapabilityDecision => ({ ok: false, reason, field });

/** Who refuses `wanted` among the allow-lists: the tenant first (no new token can lift it), then the intent. */
function refuser<T>(wanted: T, tenant: readonly T[], intent: readonly T[] | undefined): string | undefined {
  if (!tenant.includes(wanted)) return TENANT;
  if (intent !== undefined && !intent.includes(wanted)) return INTENT;
  return undefined;
}

function checkBackend(request: CapabilityRequest, intent: Principal['intent'], policy: TenantPolicy) {
  const allowed = BACKEND_NAMES.filter(
    (b) => policy.backends.includes(b) && (intent?.backends?.includes(b) ?? true),
  );
  if (request.backend === 'auto') {
    if (allowed.length > 0) return { allowed };
    return {
      refusal: deny(
        'backend',
        "backend 'auto' has nothing to choose from: no backend is allowed by both the intent token and the tenant policy",
      ),
    };
  }
  const by = refuser(request.backend, policy.backends, intent?.backends);
  if (by) return { refusal: deny('backend', `backend '${request.backend}' is not allowed by ${by}`) };
  return { allowed: [request.backend] };
}

function ceilingsOf(intent: Principal['intent'], policy: TenantPolicy): LimitCeilings {
  const ceilings: LimitCeilings = {};
  for (const key of LIMIT_KEYS) {
    const bounds = [policy.limits[key], intent?.limits?.[key]].filter((v): v is number => v !== undefined);
    if (bounds.length > 0) ceilings[key] = Math.min(...bounds);
  }
  return ceilings;
}

function checkLimits(request: CapabilityRequest, intent: Principal['intent'], policy: TenantPolicy) {
  for (const key of LIMIT_KEYS) {
    const asked = request.limits[key];
    if (asked === undefined) continue;
    const tenantMax = policy.limits[key];
    const intentMax = intent?.limits?.[key];
    // Name the tighter bound: it is the most the caller could have asked for.
    const [max, by] =
      tenantMax !== undefined && (intentMax === undefined || tenantMax <= intentMax)
        ? [tenantMax, 'tenant policy']
        : [intentMax, 'intent token'];
    if (max !== undefined && asked > max) {
      return deny(`limits.${key}`, `limits.${key}: ${asked} is above the ${by} ceiling of ${max}`);
    }
  }
  return undefined;
}

function checkHosts(requested: readonly string[], intent: Principal['intent'], policy: TenantPolicy) {
  const hosts: string[] = [];
  for (const [i, raw] of requested.entries()) {
    const host = canonicalEgressHost(raw);
    if (host === undefined)
      return {
        refusal: deny(
          `egress_hosts[${i}]`,
          `egress host ${JSON.stringify(raw.slice(0, 80))} is not a valid host name`,
        ),
      };
    const by = !hostAllowed(policy.egress_hosts, host)
      ? TENANT
      : intent?.egress_hosts !== undefined && !hostAllowed(intent.egress_hosts, host)
        ? INTENT
        : undefined;
    if (by) return { refusal: deny(`egress_hosts[${i}]`, `egress host '${host}' is not allowed by ${by}`) };
    if (!hosts.includes(host)) hosts.push(host);
  }
  return { hosts };
}

function checkCredentials(requested: readonly string[], intent: Principal['intent'], policy: TenantPolicy) {
  for (const [i, name] of requested.entries()) {
    const by = refuser(name, policy.credentials, intent?.credentials);
    if (by)
      return deny(
        `credentials[${i}]`,
        `credential ${JSON.stringify(name.slice(0, 80))} is not allowed by ${by}`,
      );
  }
  return undefined;
}

/** request ∩ intent ∩ tenant policy, or the first constraint the request breaks. */
export function effectiveCapability(
  request: CapabilityRequest,
  principal: Pick<Principal, 'intent'>,
  policy: TenantPolicy,
): CapabilityDecision {
  const intent = principal.intent;
  const languageBy = refuser(request.language, policy.languages, intent?.languages);
  if (languageBy) return deny('language', `language '${request.language}' is not allowed by ${languageBy}`);

  const backend = checkBackend(request, intent, policy);
  if (backend.refusal) return backend.refusal;

  if (request.template !== undefined) {
    const template = request.template;
    const by =
      policy.templates !== undefined && !policy.templates.includes(template)
        ? TENANT
        : intent?.templates !== undefined && !intent.templates.includes(template)
          ? INTENT
          : undefined;
    if (by) return deny('template', `template '${template}' is not allowed by ${by}`);
  }

  const limits = checkLimits(request, intent, policy);
  if (limits) return limits;

  const hosts = checkHosts(request.egress_hosts ?? [], intent, policy);
  if (hosts.refusal) return hosts.refusal;

  const credentials = request.credentials ?? [];
  const credentialRefusal = checkCredentials(credentials, intent, policy);
  if (credentialRefusal) return credentialRefusal;

  if (request.callback_host !== undefined) {
    const host = request.callback_host;
    const by =
      policy.callback_hosts !== undefined && !hostAllowed(policy.callback_hosts, host)
        ? TENANT
        : intent?.callback_hosts !== undefined && !hostAllowed(intent.callback_hosts, host)
          ? INTENT
          : undefined;
    if (by) return deny('callback.url', `callback host '${host}' is not allowed by ${by}`);
  }

  const session = request.session === true;
  if (session) {
    const by = !policy.sessions ? TENANT : intent?.sessions === false ? INTENT : undefined;
    if (by) return deny('session', `sessions are not allowed by ${by}`);
  }

  return {
    ok: true,
    capability: {
      language: request.language,
      backend: request.backend,
      backends: backend.allowed,
      ceilings: ceilingsOf(intent, policy),
      egress_hosts: hosts.hosts,
      credentials: [...new Set(credentials)],
      session,
      ...(request.template === undefined ? {} : { template: request.template }),
    },
  };
}

/** The server's ceilings narrowed by a capability's, for resolveLimits(request.limits, { defaults, ceilings }). */
export function narrowCeilings(
  server: ResolvedLimits,
  capability: Pick<Capability, 'ceilings'>,
): ResolvedLimits {
  const narrowed = { ...server };
  for (const key of LIMIT_KEYS) {
    const bound = capability.ceilings[key];
    if (bound !== undefined) narrowed[key] = Math.min(server[key], bound);
  }
  return narrowed;
}

/** A server limit policy narrowed by ceilings (narrowCeilings); a default never exceeds its ceiling. */
export function narrowPolicy(policy: LimitPolicy, capability: Pick<Capability, 'ceilings'>): LimitPolicy {
  const ceilings = narrowCeilings(policy.ceilings, capability);
  const defaults = { ...policy.defaults };
  for (const key of LIMIT_KEYS) defaults[key] = Math.min(defaults[key], ceilings[key]);
  return { defaults, ceilings };
}
