// Subjects, consumer names and KV keys of the JetStream queue, derived from tenants, templates, ids and client
// keys. A job that needs a template (job-routes.ts) has its own subject and consumer per tenant and template:
// `airlock.jobs.<tenant token>.<template>`, `jobs-<tenant token>~<template>` (`~` is in no plain token and a
// template name has none, so the two kinds of consumer name never meet).
// Must never put a raw tenant or client key where NATS gives characters a meaning (`.`, `*`, `>`, spaces):
// anything outside a plain token is hashed, and a hashed token can never equal a plain one.

import { createHash } from 'node:crypto';
import type { QueueNameOptions } from './jetstream-options.ts';

const PLAIN_TOKEN = /^[A-Za-z0-9_-]{1,64}$/;
/** Execution ids that are safe as a subject token and a KV key. */
const STORABLE_ID = /^[A-Za-z0-9_-]{1,128}$/;
/** A template name as the protocol defines it: a plain subject token and a plain consumer-name part. */
const TEMPLATE_TOKEN = /^[a-z][a-z0-9-]{0,39}$/;
const ROUTE_MARK = '~';

export class QueueNames {
  readonly jobStream: string;
  readonly eventStream: string;
  readonly bucket: string;
  readonly #prefix: string;

  constructor(names: QueueNameOptions) {
    this.jobStream = names.jobStream;
    this.eventStream = names.eventStream;
    this.bucket = names.bucket;
    this.#prefix = names.subjectPrefix;
  }

  /** Every job subject: `airlock.jobs.>` (the job stream's subjects). */
  get allJobs(): string {
    return `${this.#prefix}.jobs.>`;
  }

  /** The stream of lifecycle events. */
  get lifecycleStream(): string {
    return `${this.eventStream}_LIFECYCLE`;
  }

  /** Every lifecycle event: `airlock.lifecycle.>`. */
  get allLifecycle(): string {
    return `${this.#prefix}.lifecycle.>`;
  }

  /** One tenant's lifecycle events: `airlock.lifecycle.<tenant hash>.>`. */
  lifecycleOf(tenant: string): string {
    return `${this.#prefix}.lifecycle.${tenantHash(tenant)}.>`;
  }

  /** Where a lifecycle event of a tenant is published: `airlock.lifecycle.<tenant hash>.<type>`. */
  lifecycle(tenant: string, type: string): string {
    return `${this.#prefix}.lifecycle.${tenantHash(tenant)}.${type}`;
  }

  /** Every event subject: `airlock.events.>` (the event stream's subjects). */
  get allEvents(): string {
    return `${this.#prefix}.events.>`;
  }

  /** State and result events of every execution: `airlock.events.*.state`. */
  get allStateEvents(): string {
    return `${this.#prefix}.events.*.state`;
  }

  /** Every cancel notice: `airlock.cancel.*`. */
  get allCancels(): string {
    return `${this.#prefix}.cancel.*`;
  }

  /** Every wake-up notice: `airlock.work.<tenant token>` and `airlock.work.<tenant token>.<template>`. */
  get allWakeUps(): string {
    return `${this.#prefix}.work.>`;
  }

  /** Jobs of one tenant: `airlock.jobs.<tenant token>`, or `.<template>` after it for a job routed by template. */
  jobs(tenant: string, template?: string): string {
    return `${this.#prefix}.jobs.${tenantToken(tenant)}${routeSuffix('.', template)}`;
  }

  /** The durable pull consumer that all workers share for one tenant's jobs (of one template, if given). */
  consumer(tenant: string, template?: string): string {
    return consumerForToken(tenantToken(tenant), template);
  }

  /** Told to workers after a job is published: `airlock.work.<tenant token>` (`.<template>` if routed). */
  wakeUp(tenant: string, template?: string): string {
    return `${this.#prefix}.work.${tenantToken(tenant)}${routeSuffix('.', template)}`;
  }

  /** The consumer a wake-up subject points at, or undefined for a subject that is not a wake-up. */
  consumerOfWakeUp(subject: string): string | undefined {
    const head = `${this.#prefix}.work.`;
    if (!subject.startsWith(head)) return undefined;
    const [token, template, ...rest] = subject.slice(head.length).split('.');
    if (token === undefined || !isToken(token) || rest.length > 0) return undefined;
    if (template !== undefined && !TEMPLATE_TOKEN.test(template)) return undefined;
    return consumerForToken(token, template);
  }

  /** State and result events of one execution. */
  stateEvents(id: string): string {
    return `${this.#prefix}.events.${id}.state`;
  }

  /** The execution id a state-event subject names, or undefined. */
  idOfStateEvent(subject: string): string | undefined {
    const head = `${this.#prefix}.events.`;
    if (!subject.startsWith(head) || !subject.endsWith('.state')) return undefined;
    const id = subject.slice(head.length, -'.state'.length);
    return isStorableId(id) ? id : undefined;
  }

  /** Output events of one execution. */
  outputEvents(id: string): string {
    return `${this.#prefix}.events.${id}.output`;
  }

  /** All events of one execution, in the order they were published. */
  events(id: string): string {
    return `${this.#prefix}.events.${id}.>`;
  }

  /** Where a runner answers whether it still runs an execution: `airlock.runner.<instance id>`. */
  runnerProbe(instanceId: string): string {
    return `${this.#prefix}.runner.${instanceId}`;
  }

  /** Cancel notice for one execution: `airlock.cancel.<id>`. */
  cancel(id: string): string {
    return `${this.#prefix}.cancel.${id}`;
  }

  /** The execution id a cancel subject names, or undefined. */
  idOfCancel(subject: string): string | undefined {
    const id = subject.slice(`${this.#prefix}.cancel.`.length);
    return subject.startsWith(`${this.#prefix}.cancel.`) && isStorableId(id) ? id : undefined;
  }
}

/** A tenant as one subject token: itself when plain, otherwise `~` and a hash (`~` is never plain). */
export function tenantToken(tenant: string): string {
  if (PLAIN_TOKEN.test(tenant)) return tenant;
  return `~${createHash('sha256').update(tenant).digest('hex').slice(0, 40)}`;
}

export function isStorableId(id: string): boolean {
  return STORABLE_ID.test(id);
}

/** KV key of an execution record. */
export function executionKey(id: string): string {
  return `ex.${id}`;
}

/** KV key of an idempotency record: a hash of tenant and client key, so neither needs escaping. */
export function idempotencyKey(tenant: string, key: string): string {
  return `key.${createHash('sha256').update(tenant).update('\u0000').update(key).digest('hex')}`;
}

function consumerForToken(token: string, template?: string): string {
  return `jobs-${token}${routeSuffix(ROUTE_MARK, template)}`;
}

/** `<separator><template>`, or '' without one; a name that is not a template name is refused. */
function routeSuffix(separator: string, template: string | undefined): string {
  if (template === undefined) return '';
  if (!TEMPLATE_TOKEN.test(template)) throw new TypeError(`not a template name: ${JSON.stringify(template)}`);
  return `${separator}${template}`;
}

/** What a job consumer's name says: its tenant's token and the template it is routed by, if any. */
export function parseJobConsumer(name: string): { tenant: string; template: string | undefined } | undefined {
  if (!name.startsWith('jobs-')) return undefined;
  const rest = name.slice('jobs-'.length);
  const mark = rest.lastIndexOf(ROUTE_MARK);
  // A hashed tenant token starts with the mark itself; a route mark comes after the token.
  if (mark <= 0) return isToken(rest) ? { tenant: rest, template: undefined } : undefined;
  const tenant = rest.slice(0, mark);
  const template = rest.slice(mark + 1);
  return isToken(tenant) && TEMPLATE_TOKEN.test(template) ? { tenant, template } : undefined;
}

function isToken(token: string): boolean {
  return PLAIN_TOKEN.test(token) || /^~[0-9a-f]{40}$/.test(token);
}

/** A tenant as a hash that fits any subject token or KV key. */
export function tenantHash(tenant: string): string {
  return createHash('sha256').update(tenant).digest('hex').slice(0, 32);
}

/** Milliseconds of one listing hour: a tenant's listing entries are grouped by the hour they were created in. */
export const LISTING_HOUR_MS = 3_600_000;

/** KV key prefix of one tenant's listing entries of one hour (hours since the epoch). */
export function listingHourPrefix(tenant: string, hour: number): string {
  return `ix.${tenantHash(tenant)}.${String(Math.max(0, hour)).padStart(9, '0')}`;
}

/** KV key prefix of one tenant's hour markers: `ih.<tenant hash>.<hour>`, one per hour with an entry. */
export function listingHoursPrefix(tenant: string): string {
  return `ih.${tenantHash(tenant)}`;
}

/** KV key of the marker saying the tenant has listing entries in this hour (empty value). */
export function listingHourKey(tenant: string, hour: number): string {
  return `${listingHoursPrefix(tenant)}.${String(Math.max(0, hour)).padStart(9, '0')}`;
}

/**
 * KV key of an execution's listing entry: tenant, creation hour, creation time (zero-padded milliseconds, so
 * keys sort by time) and id; the entry's value is empty — the key is the index.
 */
export function listingKey(tenant: string, createdMs: number, id: string): string {
  const ms = Math.max(0, createdMs);
  return `${listingHourPrefix(tenant, Math.floor(ms / LISTING_HOUR_MS))}.${String(ms).padStart(15, '0')}.${id}`;
}

/** The KV bucket of worker heartbeats: one entry per running worker, keyed by its id. */
export const WORKERS_BUCKET = 'airlock-workers';
