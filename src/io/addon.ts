// What the native I/O addons (native/: swarmd_udp, swarmd_tcp) share on the TypeScript side:
// loading one lazily with the reason it can't be used, and where the errors thrown by a batch
// handler go when the caller gives no onError.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

export type AddonStatus = { available: boolean; reason: string };

// Loads the addon at `path` (Linux only); it must export the function `mustExport`.
export function loadAddon<T>(path: string, mustExport: string): { addon: T | null; status: AddonStatus } {
  if (process.platform !== 'linux') {
    return { addon: null, status: { available: false, reason: `not Linux (${process.platform}): the addons use Linux system calls` } };
  }
  if (!existsSync(path)) {
    return { addon: null, status: { available: false, reason: `not built: ${path} is missing (build it with \`node scripts/build-native.js\`)` } };
  }
  try {
    const loaded = createRequire(import.meta.url)(path) as Record<string, unknown>;
    if (typeof loaded?.[mustExport] !== 'function') throw new Error(`it does not export ${mustExport}()`);
    return { addon: loaded as T, status: { available: true, reason: `loaded ${path}` } };
  } catch (err) {
    return { addon: null, status: { available: false, reason: `load error: ${err instanceof Error ? err.message : String(err)}` } };
  }
}

// stderr, at most once a second per socket, saying how many were left out.
export function throttledStderr(label: string): (err: unknown) => void {
  let last = -Infinity;
  let skipped = 0;
  return (err) => {
    const now = performance.now();
    if (now - last < 1000) {
      skipped++;
      return;
    }
    last = now;
    const more = skipped > 0 ? ` (${skipped} more since the last one)` : '';
    skipped = 0;
    const text = err instanceof Error ? (err.stack ?? String(err)) : String(err);
    process.stderr.write(`swarmd: ${label}: batch handler threw${more}: ${text}\n`);
  };
}
