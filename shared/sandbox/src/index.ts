export {
  ContainerSandbox,
  type ContainerSandboxOptions,
  type ContainerSandboxStats,
} from './container/container-sandbox.ts';
export {
  CONTAINER_BACKENDS,
  CONTAINER_RUNTIMES,
  type ContainerBackend,
  type ContainerRuntime,
} from './container/container-spec.ts';
export { egressEnv } from './container/egress-env.ts';
export {
  EgressNetwork,
  type EgressNetworkOptions,
  egressFirewallRules,
  sweepEgressLeftovers,
} from './container/egress-network.ts';
export {
  ContainerSetupError,
  IMAGE_NAMES,
  type ImageName,
  loadResolvedImages,
  type ResolvedImage,
  type ResolvedImages,
} from './container/images.ts';
export {
  LeftoverReaper,
  type LeftoverReaperLogger,
  type LeftoverReaperOptions,
} from './container/leftover-reaper.ts';
export { type BackendAvailability, type ContainerProbe, probeContainerBackends } from './container/probe.ts';
export { type ReapOptions, reapLeftovers } from './container/reaper.ts';
export type { WarmPoolStats } from './container/warm-pool.ts';
export type { EgressAccess } from './egress-access.ts';
export type { SandboxLogger } from './isolate/host-pool.ts';
export { IsolateSandbox, type IsolateSandboxOptions } from './isolate/isolate-sandbox.ts';
export { IsolateSessions, type IsolateSessionsOptions } from './isolate/isolate-sessions.ts';
export type {
  RuntimeInfo,
  Sandbox,
  SandboxFile,
  SandboxJob,
  SandboxRunOptions,
  SandboxSession,
  SessionCell,
  SessionEnd,
  SessionSandbox,
  SessionSpec,
} from './sandbox.ts';
export { ContainerSessions, type ContainerSessionsOptions } from './session/container-sessions.ts';
