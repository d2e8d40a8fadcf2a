// Debian's Chromium for the browser tests (driven by playwright-core, which never downloads a
// browser): where it is, the flags it runs with on this closed network, and when a test may skip.

import { existsSync } from 'node:fs';

export const CHROMIUM = '/usr/bin/chromium';

/** Headless, no sandbox (root), and none of the background connections this network refuses. */
export const CHROMIUM_FLAGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** In CI a missing browser is a failure (scripts/test-setup.sh must have installed it), never a skip. */
export const chromiumSkip: string | false =
  process.env.CI !== 'true' && !existsSync(CHROMIUM) ? `${CHROMIUM} missing (scripts/test-setup.sh installs Debian's chromium)` : false;
