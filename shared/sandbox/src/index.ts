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
export {
  ContainerSessionBackend,
  type ContainerSessionBackendOptions,
} from './container/session/container-session-backend.ts';
export { fileSha256 } from './container/session/file-sha256.ts';
export { CHECKPOINT_FILE, type RunscCheckpointOptions } from './container/session/runsc-checkpoint.ts';
export type { WarmPoolStats } from './container/warm-pool.ts';
export type { EgressAccess } from './egress-access.ts';
export type { HostEvent, SandboxLogger } from './isolate/host-pool.ts';
export { IsolateSandbox, type IsolateSandboxOptions } from './isolate/isolate-sandbox.ts';
export {
  IsolateSessionBackend,
  type IsolateSessionBackendOptions,
} from './isolate/isolate-session-backend.ts';
export type {
  CellJob,
  RuntimeInfo,
  Sandbox,
  SandboxFile,
  SandboxJob,
  SandboxRunOptions,
  SessionBackend,
  SessionEnd,
  SessionFileEntry,
  SessionFiles,
  SessionImage,
  SessionKernelState,
  SessionLease,
  SessionSpec,
} from './sandbox.ts';
export { type BuildInputs, findBuildInputs } from './templates/build-inputs.ts';
export { DEFAULT_APT_SOURCES, TemplateBuildError } from './templates/template-builder.ts';
export { buildTemplates, type TemplateBuildSummary } from './templates/template-builds.ts';
export { loadTemplateCatalog, type TemplateCatalog } from './templates/template-catalog.ts';
export {
  DEFAULT_TEMPLATES,
  noTemplates,
  refusalError,
  TEMPLATE_STATES,
  type TemplateEntry,
  type TemplateInfo,
  type TemplateProgram,
  type TemplateRefusal,
  TemplateRegistry,
  type TemplateState,
  templateOfJob,
  templateRefusal,
} from './templates/template-registry.ts';
export { TemplateSpecError } from './templates/template-spec.ts';
