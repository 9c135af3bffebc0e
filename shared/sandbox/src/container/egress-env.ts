// The variables a container job on the egress network gets: HTTP_PROXY/HTTPS_PROXY (and lower-case) carrying
// the per-run proxy credential, so ordinary HTTP clients go through the proxy, and the credential sentinels.
// It must never add anything but these to a job's environment.

import { type EgressAccess, sentinelEnv } from '../egress-access.ts';

export function egressEnv(access: EgressAccess): Record<string, string> {
  const url = access.proxyUrl;
  return {
    HTTP_PROXY: url,
    HTTPS_PROXY: url,
    http_proxy: url,
    https_proxy: url,
    NO_PROXY: '',
    no_proxy: '',
    // Node 24's fetch and http honour the variables only when asked to.
    NODE_USE_ENV_PROXY: '1',
    ...sentinelEnv(access),
  };
}
