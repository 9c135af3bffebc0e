// Installs the guest runtime (the plain-JavaScript files in ./guest) into a fresh isolate context before any job
// exists, handing it the bridge callbacks as closure arguments, and later begins the one job that isolate runs
// by copying the job's plain data into it. The runtime is compiled from a V8 code cache that each host process
// produces from this source itself. Must never put a host callback on the guest's global object, never expose
// begin or fireTimer to guest code, and never take cachedData from anywhere but this file's own compile.

import { readFileSync } from 'node:fs';
import type ivm from 'isolated-vm';
import { BRIDGE_NAMES, type BridgeCallbacks } from './guest-bridge.ts';

/**
 * Install order matters: later parts use what earlier ones put on `runtime` (lazyPart, layout, inspect,
 * encoding). Parts that register with lazyPart install their globals only when the guest first reads one.
 */
const GUEST_PARTS = [
  'lazy.js',
  'memory.js',
  'inspect-layout.js',
  'inspect.js',
  'format.js',
  'console.js',
  'timers.js',
  'encoding.js',
  'url.js',
  'platform.js',
  'airlock.js',
  'fetch.js',
];
const FILENAME = 'airlock:runtime';

/** Plain data every guest part may read at begin (`runtime.onBegin`) or later (`runtime.config`). */
export interface GuestConfig {
  stdin: string;
  args: string[];
  env: Record<string, string>;
  outputBytes: number;
  maxTimers: number;
  /** The job's (or the session's) memory limit in bytes. */
  memoryBytes: number;
}

/** The guest's timer entry point, held host-side only. */
export type FireTimer = ivm.Reference<(id: number) => void>;

/** The guest's one-shot begin(config), held host-side only; it returns the guest's FireTimer. */
export type BeginJob = ivm.Reference<(config: GuestConfig) => unknown>;

/**
 * The runtime source: one function expression taking the bridge callbacks and returning begin(config).
 * In session mode (a kept isolate, see kept-isolate.ts) begin returns the host-only SessionRuntimeApi
 * instead of fireTimer, and parts may register per-cell hooks on `runtime.onCell`.
 */
function runtimeSource(session = false): string {
  const parts = GUEST_PARTS.map((file) =>
    readFileSync(new URL(`./guest/${file}`, import.meta.url), 'utf8')
      .trim()
      .replace(/;$/, ''),
  );
  const params = BRIDGE_NAMES.map((_, i) => `$${i}`).join(', ');
  const bridge = BRIDGE_NAMES.map((name, i) => `${name}: $${i}`).join(', ');
  return [
    `(function airlockRuntime(${params}) {`,
    `'use strict';`,
    `const runtime = { bridge: Object.freeze({ ${bridge} }), config: null, onBegin: [] };`,
    ...(session ? ['runtime.onCell = [];'] : []),
    `for (const install of [\n${parts.join(',\n')}\n]) install(runtime);`,
    'let begun = false;',
    'return function begin(config) {',
    `  if (begun) throw new Error('airlock runtime: a job has already begun in this isolate');`,
    '  begun = true;',
    '  runtime.config = config;',
    '  for (const hook of runtime.onBegin) hook(config);',
    '  runtime.onBegin = null;',
    ...(session ? SESSION_API_SOURCE : ['  return runtime.fireTimer;']),
    '};',
    '})',
  ].join('\n');
}

/** Session mode: what begin returns, for the host only (never reachable from guest code). */
const SESSION_API_SOURCE = [
  '  const onCell = runtime.onCell;',
  '  return Object.freeze({',
  '    fireTimer: runtime.fireTimer,',
  '    beginCell: (cell) => { for (const hook of onCell) hook(cell); },',
  '    inspectValue: (value) => (value === undefined ? null : runtime.forHost(runtime.inspect(value))),',
  '  });',
];

/** Per-cell data a session runtime's onCell hooks receive. */
export interface GuestCellConfig {
  stdin: string;
  outputBytes: number;
}

/** isolated-vm sets these on a compiled Script, though its typings leave them out. */
type CompiledScript = ivm.Script & ivm.CachedDataResult & { cachedDataRejected?: boolean };

/** The runtime's source and its code cache, shared by every isolate one host process prepares. */
export class GuestRuntimeCode {
  readonly #source: string;
  #cache: ivm.ExternalCopy<ArrayBuffer> | null = null;
  #rejected = 0;

  /** `session`: build the session-mode runtime (see runtimeSource). @default false */
  constructor(options: { session?: boolean } = {}) {
    this.#source = runtimeSource(options.session ?? false);
  }

  /** How many times V8 refused the cache (a new one is then produced by the next compile). */
  get cacheRejections(): number {
    return this.#rejected;
  }

  /** Size of the code cache in bytes; 0 while there is none. */
  get cacheBytes(): number {
    return this.#cache?.copy().byteLength ?? 0;
  }

  /** Compiles the runtime for `isolate` from the code cache (producing one first if there is none yet). */
  async compile(isolate: ivm.Isolate): Promise<ivm.Script> {
    const cache = this.#cache;
    if (cache === null) {
      const script = await this.#compile(isolate, { produceCachedData: true });
      this.#cache ??= script.cachedData ?? null;
      return script;
    }
    const script = await this.#compile(isolate, { cachedData: cache });
    if (script.cachedDataRejected === true) {
      this.#rejected += 1;
      if (this.#cache === cache) this.#cache = null;
    }
    return script;
  }

  /**
   * Replaces the cache with one made in `isolate`, which has already run the runtime: V8 reuses that compile,
   * so the cache also holds every function the runtime has compiled lazily since.
   */
  async captureCache(isolate: ivm.Isolate): Promise<void> {
    const script = await this.#compile(isolate, { produceCachedData: true });
    script.release();
    if (script.cachedData !== undefined) this.#cache = script.cachedData;
  }

  #compile(isolate: ivm.Isolate, options: ivm.CachedDataOptions): Promise<CompiledScript> {
    return isolate.compileScript(this.#source, { filename: FILENAME, ...options });
  }
}

/** Runs the runtime in `context`; returns its begin function. No job data is in the isolate yet. */
export async function installGuestRuntime(
  isolate: ivm.Isolate,
  context: ivm.Context,
  bridge: BridgeCallbacks,
  code: GuestRuntimeCode,
): Promise<BeginJob> {
  const script = await code.compile(isolate);
  const factory = await script.run(context, { reference: true, release: true });
  try {
    const args = BRIDGE_NAMES.map((name) => bridge[name]);
    const begin = await factory.apply(undefined, args, { result: { reference: true } });
    return begin as BeginJob;
  } finally {
    factory.release();
  }
}

/** Hands the job's data to the runtime (one copying call) and returns the guest's timer entry point. */
export function beginGuestJob(begin: BeginJob, config: GuestConfig): FireTimer {
  const fireTimer = begin.applySync(undefined, [config], {
    arguments: { copy: true },
    result: { reference: true },
  });
  begin.release();
  return fireTimer as FireTimer;
}
