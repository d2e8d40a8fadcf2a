// Starts a real tracker (main thread + workers, real sockets) on loopback for a test.

import { defaultConfig } from '../../src/config/config.ts';
import type { Config } from '../../src/config/config.ts';
import { createLogger } from '../../src/log.ts';
import { startTracker } from '../../src/tracker.ts';
import type { RunningTracker } from '../../src/tracker.ts';

export type TestTracker = RunningTracker & { tcp4: number; udp4: number; tcp6: number; udp6: number };

export async function startTestTracker(overrides: Partial<Config> = {}): Promise<TestTracker> {
  const config: Config = {
    ...defaultConfig(),
    workers: 2,
    memoryLimit: 256 << 20,
    logLevel: 'silent',
    listeners: [
      { proto: 'tcp', host: '127.0.0.1', port: 0 },
      { proto: 'udp', host: '127.0.0.1', port: 0 },
      { proto: 'tcp', host: '::1', port: 0 },
      { proto: 'udp', host: '::1', port: 0 },
    ],
    ...overrides,
  };
  const tracker = await startTracker(config, createLogger('silent'));
  const port = (proto: string, v6: boolean) => tracker.listening.find((l) => l.proto === proto && l.host.includes(':') === v6)?.port ?? 0;
  return Object.assign(tracker, { tcp4: port('tcp', false), udp4: port('udp', false), tcp6: port('tcp', true), udp6: port('udp', true) });
}

/** 20 bytes derived from a label, for readable tests. */
export function infoHash(label: string): Buffer {
  const h = Buffer.alloc(20);
  h.write(label.padEnd(20, '.').slice(0, 20), 'latin1');
  return h;
}

export function percentEncode(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += '%' + b.toString(16).padStart(2, '0');
  return s;
}
