// Run control of a standalone egress proxy over NATS request-reply (scaled out): the subjects under
// `airlock.egress.<proxy id>.` and the JSON of every request and reply, as zod schemas both sides parse with.
// A failed request is answered `{"error":{code,message,field?}}` from the one error table. Only the NATS
// server's permissions protect these subjects: whoever may publish on them can open and close runs.

import { EgressRecord, NetworkInput } from '@airlock/protocol';
import { z } from 'zod';

/** A proxy id: one plain subject token. */
export const PROXY_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Execution ids the proxy accepts: a subject-safe token that cannot hold the Basic user-info `:`. */
const EXECUTION_ID = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'must be an execution id');

export interface EgressSubjects {
  /** Opens a run: OpenRunRequest → OpenRunReply. */
  open: string;
  /** Closes a run: CloseRunRequest → CloseRunReply. */
  close: string;
  /** Where the proxy is: any payload → ProxyInfo. */
  info: string;
  /** Every subject of this proxy (`airlock.egress.<id>.>`), for NATS permissions. */
  all: string;
}

export function egressSubjects(proxyId: string): EgressSubjects {
  if (!PROXY_ID.test(proxyId)) throw new Error(`'${proxyId}' is not a proxy id of [A-Za-z0-9_-]`);
  const prefix = `airlock.egress.${proxyId}`;
  return { open: `${prefix}.open`, close: `${prefix}.close`, info: `${prefix}.info`, all: `${prefix}.>` };
}

export const ProxyInfo = z.object({
  /** The egress Docker network sandboxes join. */
  network: z.string().min(1),
  /** The proxy's address on that network (its gateway) and port. */
  proxy: z.object({ host: z.string().min(1), port: z.number().int().min(1).max(65_535) }),
});
export type ProxyInfo = z.infer<typeof ProxyInfo>;

const ProxyNetwork = NetworkInput.options[1];

export const OpenRunRequest = z
  .object({
    execution_id: EXECUTION_ID,
    network: ProxyNetwork,
    /** The run's proxy credential dies after this long even if it is never closed. */
    ttl_ms: z
      .number()
      .int()
      .min(1)
      .max(24 * 3_600_000),
  })
  .strict();
export type OpenRunRequest = z.input<typeof OpenRunRequest>;

/** The run's EgressAccess (@airlock/sandbox) on the wire, with where the proxy is. */
export const OpenRunReply = ProxyInfo.extend({
  /** The proxy URL with the per-run credential, as the sandbox reaches it. */
  proxy_url: z.string().min(1),
  /** credential name → the sentinel the sandbox holds instead of the value. */
  sentinels: z.record(z.string(), z.string()),
  /** The same as the variables a container job gets (HTTP_PROXY and friends, AIRLOCK_CREDENTIAL_<NAME>). */
  env: z.record(z.string(), z.string()),
});
export type OpenRunReply = z.infer<typeof OpenRunReply>;

export const CloseRunRequest = z.object({ execution_id: EXECUTION_ID }).strict();
export type CloseRunRequest = z.infer<typeof CloseRunRequest>;

export const CloseRunReply = z.object({
  records: z.array(EgressRecord),
  /** Records past the per-run cap, counted only. */
  omitted: z.number().int().min(0),
});
export type CloseRunReply = z.infer<typeof CloseRunReply>;

/** The error reply, as the one error table writes it (`AirlockError.toBody()`). */
export const ControlError = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    field: z.string().optional(),
  }),
});
