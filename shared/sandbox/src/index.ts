export type { SandboxLogger } from './isolate/host-pool.ts';
export { IsolateSandbox, type IsolateSandboxOptions } from './isolate/isolate-sandbox.ts';
export type {
  BackendName,
  RuntimeInfo,
  Sandbox,
  SandboxFile,
  SandboxJob,
  SandboxRunOptions,
} from './sandbox.ts';
