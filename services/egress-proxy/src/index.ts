export { type AddressAllowance, AddressCheck, specialRange } from './address-check.ts';
export {
  type CredentialBinding,
  type CredentialBindings,
  loadCredentialBindings,
  parseCredentialBindings,
} from './credential-bindings.ts';
export {
  CloseRunReply,
  CloseRunRequest,
  ControlError,
  type EgressSubjects,
  egressSubjects,
  OpenRunReply,
  OpenRunRequest,
  PROXY_ID,
  ProxyInfo,
} from './egress-control.ts';
export { type EgressControl, type EgressControlDeps, startEgressControl } from './egress-control-service.ts';
export type { EgressAllow, ServerEgressPolicy } from './egress-policy.ts';
export { type EgressGrant, EgressProxy, type EgressProxyOptions } from './egress-proxy.ts';
export { DEFAULT_RUN_LIMITS, type RunLimits } from './egress-run.ts';
export type { RunAccess } from './egress-runs.ts';
export {
  boundCredentialNames,
  type EmbeddedEgress,
  proxyOptionsFromConfig,
  startEmbeddedEgress,
} from './egress-setup.ts';
export { ProxyEgressBroker } from './proxy-egress-broker.ts';
export { type Resolver, systemResolver, TableResolver } from './resolver.ts';
export { SecretScrubber } from './scrubber.ts';
export { EnvSecretsProvider, envSecretName, FileSecretsProvider, type SecretsProvider } from './secrets.ts';
export { type StandaloneEgress, startStandaloneEgress } from './standalone-egress.ts';
export { parseAuthority } from './target.ts';
