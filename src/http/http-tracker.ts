// The HTTP tracker as a worker runs it: the node:net connection layer (connection-layer.ts)
// driving the router's endpoints (router.ts). TLS listeners go down the same path; WebSocket
// upgrades go to the Upgrader given (the worker's WebSocket server), or are ordinary requests.

import type { TrackerContext } from '../requests/context.ts';
import { NetConnectionLayer } from './connection-layer.ts';
import { HttpRouter } from './router.ts';
import type { Upgrader } from './upgrade.ts';

export class HttpTracker extends NetConnectionLayer {
  constructor(ctx: TrackerContext, upgrader: Upgrader | null = null) {
    const router = new HttpRouter(ctx, upgrader);
    super(ctx.config.http, ctx.counters, router, router.maxBody());
  }
}
