// Returns freed arena memory to the kernel through the optional native addon
// (native/release_pages.c). Without it, freed blocks are only kept for reuse.

import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ADDON = fileURLToPath(new URL('../../native/build/Release/swarmd_memory.node', import.meta.url));

type Release = (view: Uint8Array) => number;

function load(): { release: Release | null; reason: string } {
  if (!existsSync(ADDON)) return { release: null, reason: `not built: ${ADDON} is missing` };
  try {
    const addon = createRequire(import.meta.url)(ADDON) as { release?: Release };
    if (typeof addon.release !== 'function') return { release: null, reason: 'the addon has no release()' };
    return { release: addon.release, reason: `loaded ${ADDON}` };
  } catch (err) {
    return { release: null, reason: `load error: ${(err as Error).message}` };
  }
}

/** `release(view)` gives the whole pages inside `view` back (they read as zeros after); null without the addon. */
export const pageRelease = load();
