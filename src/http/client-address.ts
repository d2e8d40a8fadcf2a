// Whose request it is: the connection's address, or, when the connection comes from a trusted
// reverse proxy (access.proxy), the client address the proxy forwarded (src/net/forwarded.ts).
// Each endpoint that needs it (announces, the full-scrape limit, the stats pages' access list)
// keeps one of these, so resolving costs no allocation.

import { NetworkList } from '../net/networks.ts';
import { forwardedAddress } from '../net/forwarded.ts';
import type { HttpRequest } from './responder.ts';

export class ClientAddress {
  /** After resolve(): the client's family and address (a view of the request's or of our own buffer). */
  family = 0;
  address: Uint8Array = new Uint8Array(16);
  private readonly proxies: NetworkList;
  private readonly forwarded = Buffer.alloc(16);

  constructor(proxyNetworks: readonly string[]) {
    this.proxies = new NetworkList(proxyNetworks);
  }

  resolve(req: HttpRequest): void {
    const viaProxy = !this.proxies.empty && this.proxies.contains(req.family, req.address);
    const family = viaProxy ? forwardedAddress(req.head, req.bytes, this.proxies, this.forwarded) : 0;
    this.family = family === 0 ? req.family : family;
    this.address = family === 0 ? req.address : this.forwarded;
  }
}
