// The part of bittorrent-tracker's client (a JavaScript package without types) the tests use.
declare module 'bittorrent-tracker' {
  import { EventEmitter } from 'node:events';
  export type ClientOptions = {
    infoHash: string | Buffer;
    peerId: string | Buffer;
    announce: string | string[];
    port: number;
    wrtc?: unknown;
    getAnnounceOpts?: () => Record<string, unknown>;
    proxyOpts?: { httpAgent?: unknown };
    rtcConfig?: { iceServers: unknown[] };
  };
  export type TrackerData = { announce: string; infoHash: string; complete: number; incomplete: number; downloaded?: number };
  export class Client extends EventEmitter {
    constructor(opts: ClientOptions);
    _trackers: { _generateOffers?: (numwant: number, cb: (offers: unknown[]) => void) => void }[];
    start(opts?: Record<string, unknown>): void;
    stop(opts?: Record<string, unknown>): void;
    complete(opts?: Record<string, unknown>): void;
    update(opts?: Record<string, unknown>): void;
    scrape(opts?: Record<string, unknown>): void;
    setInterval(ms: number): void;
    destroy(cb?: (err?: Error) => void): void;
    static scrape(
      opts: { announce: string; infoHash: string | string[] },
      cb: (err: Error | null, data: TrackerData & Record<string, TrackerData>) => void,
    ): Client;
  }
  const _default: { Client: typeof Client };
  export default _default;
}
