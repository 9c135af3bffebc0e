// `@airlock/sandbox/internal`: parts that are not the package's interface but that tools in this repository
// (the benchmark's Docker baselines) must use as they are, so that what they measure is what Airlock creates.
// Nothing in a service imports this entry.

export { type ContainerSpecInput, containerSpec } from './container/container-spec.ts';
