// What a sandbox gets of its run's egress, from the egress proxy through the worker: the proxy URL carrying the
// per-run proxy credential, and one sentinel per credential the run asked for (the proxy puts the secret in
// place of it on the way out). Each backend builds what it needs from it: the container backends the proxy
// variables (container/egress-env.ts), the isolate host the URL itself. The guest sees a sentinel as the
// variable AIRLOCK_CREDENTIAL_<NAME>. It must never carry a secret value.

export interface EgressAccess {
  /** `http://user:password@host:port` of the run's proxy, as the sandbox reaches it. */
  proxyUrl: string;
  /** credential name → the sentinel the sandbox holds instead of the value. */
  sentinels: Record<string, string>;
}

/** The variable that holds a credential's sentinel in the guest's environment. */
export function sentinelVariable(name: string): string {
  return `AIRLOCK_CREDENTIAL_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/** The sentinels as the guest's variables. */
export function sentinelEnv(access: EgressAccess): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, sentinel] of Object.entries(access.sentinels)) env[sentinelVariable(name)] = sentinel;
  return env;
}
