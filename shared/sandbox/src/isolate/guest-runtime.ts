// Installs the guest runtime (the plain-JavaScript files in ./guest) into a fresh isolate context, handing it
// the bridge callbacks as closure arguments and the job's plain data as a copy. Returns the one guest function
// the host calls later (fire a due timer). Must never put a host callback on the guest's global object.

import { readFileSync } from 'node:fs';
import ivm from 'isolated-vm';
import type { BridgeCallbacks } from './guest-bridge.ts';

/** Install order matters: later parts use what earlier ones put on `runtime` (layout, inspect, utf8Bytes). */
const GUEST_PARTS = [
  'inspect-layout.js',
  'inspect.js',
  'format.js',
  'console.js',
  'timers.js',
  'encoding.js',
  'url.js',
  'platform.js',
  'airlock.js',
];

/** Plain data every guest part may read from `runtime.config`. */
export interface GuestConfig {
  stdin: string;
  args: string[];
  env: Record<string, string>;
  outputBytes: number;
  maxTimers: number;
}

let runtimeSource: { body: string; names: string[] } | null = null;

function loadRuntimeSource(names: string[]): string {
  if (runtimeSource === null || runtimeSource.names.join() !== names.join()) {
    const parts = GUEST_PARTS.map((file) =>
      readFileSync(new URL(`./guest/${file}`, import.meta.url), 'utf8')
        .trim()
        .replace(/;$/, ''),
    );
    const bridge = names.map((name, i) => `${name}: $${i}`).join(', ');
    const body = [
      `'use strict';`,
      `const runtime = { bridge: Object.freeze({ ${bridge} }), config: $${names.length} };`,
      `for (const install of [\n${parts.join(',\n')}\n]) install(runtime);`,
      'return runtime.fireTimer;',
    ].join('\n');
    runtimeSource = { body, names };
  }
  return runtimeSource.body;
}

/** The guest's timer entry point, held host-side only. */
export type FireTimer = ivm.Reference<(id: number) => void>;

export async function installGuestRuntime(
  context: ivm.Context,
  bridge: BridgeCallbacks,
  config: GuestConfig,
): Promise<FireTimer> {
  const names = Object.keys(bridge);
  const body = loadRuntimeSource(names);
  const args = [
    ...names.map((name) => bridge[name]),
    new ivm.ExternalCopy(config).copyInto({ release: true }),
  ];
  return context.evalClosure(body, args, { result: { reference: true }, filename: 'airlock:runtime' });
}
