// Announce query strings as real clients and tracker-list checkers send them: parameter order, sets,
// escaping and sloppiness taken from each one's source (the file named with each entry). Shared by the
// parser's table test and the one that sends them to a running tracker. A query is built from a hash,
// a peer id and a port so that tests can give each entry its own swarm.

export type ClientQuery = {
  /** Who sends it, and where its shape comes from. */
  client: string;
  build: (hash: Buffer, peerId: Buffer, port: number) => string;
  /** What the parser must make of it (checked on top of QUERY_OK and the hash). */
  expect: { left: number; event: string; numwant: number; lenient: string[] };
};

/** libtorrent's escape_string: unreserved bytes as they are, the rest %XX in upper case. */
export function escapeLt(b: Uint8Array): string {
  let s = '';
  for (const x of b) {
    const ch = String.fromCharCode(x);
    s += /[A-Za-z0-9\-_.!~*'()]/.test(ch) ? ch : '%' + x.toString(16).toUpperCase().padStart(2, '0');
  }
  return s;
}

/** Transmission's tr_http_escape_sha1 and most others: RFC 3986 unreserved bytes kept, %xx in lower case. */
export function escapeLower(b: Uint8Array): string {
  let s = '';
  for (const x of b) {
    const ch = String.fromCharCode(x);
    s += /[A-Za-z0-9\-_.~]/.test(ch) ? ch : '%' + x.toString(16).padStart(2, '0');
  }
  return s;
}

/** Python's urlencode (quote_plus) of bytes, as newTrackon uses it: a space would become '+'. */
export function escapePython(b: Uint8Array): string {
  let s = '';
  for (const x of b) {
    const ch = String.fromCharCode(x);
    s += x === 0x20 ? '+' : /[A-Za-z0-9\-_.~]/.test(ch) ? ch : '%' + x.toString(16).toUpperCase().padStart(2, '0');
  }
  return s;
}

/** bittorrent-tracker's querystring for binary strings: escape() keeps @*_+-./ as well. */
export function escapeJs(b: Uint8Array): string {
  let s = '';
  for (const x of b) {
    const ch = String.fromCharCode(x);
    s += /[A-Za-z0-9@*_+\-./]/.test(ch) ? ch : '%' + x.toString(16).toUpperCase().padStart(2, '0');
  }
  return s;
}

const hex8 = (n: number) => n.toString(16).toUpperCase().padStart(8, '0');
const none = { lenient: [] as string[] };

export const CLIENT_QUERIES: readonly ClientQuery[] = [
  {
    // libtorrent 2.0 src/http_tracker_connection.cpp (qBittorrent 4.4+, Deluge 2.1): event=paused is BEP 21's
    // partial seed; ipv4=/ipv6= come from its listen sockets, escaped
    client: 'qBittorrent 4.6 (libtorrent 2.0), started, ipv4 and ipv6',
    build: (h, p, port) =>
      `info_hash=${escapeLt(h)}&peer_id=${escapeLt(p)}&port=${port}&uploaded=0&downloaded=0&left=1048576&corrupt=0` +
      `&key=${hex8(0x1a2b3c4d)}&event=started&numwant=200&compact=1&no_peer_id=1&supportcrypto=1&redundant=0` +
      `&ipv4=${escapeLt(Buffer.from('192.168.1.20'))}&ipv6=${escapeLt(Buffer.from('2001:db8::20'))}`,
    expect: { left: 1048576, event: 'started', numwant: 200, ...none },
  },
  {
    client: 'Deluge 2.1 (libtorrent 2.0), paused (BEP 21 partial seed)',
    build: (h, p, port) =>
      `info_hash=${escapeLt(h)}&peer_id=${escapeLt(p)}&port=${port}&uploaded=5242880&downloaded=0&left=734003200&corrupt=0` +
      `&key=${hex8(0xdeadbeef)}&event=paused&numwant=0&compact=1&no_peer_id=1&supportcrypto=1&redundant=0`,
    expect: { left: 734003200, event: 'paused', numwant: 0, ...none },
  },
  {
    // libtorrent 1.2 (qBittorrent 4.3): numwant=-1 is not sent, but a tracker_request with num_want unset
    // prints the default; trackerid once the tracker gave one
    client: 'qBittorrent 4.3 (libtorrent 1.2), regular update with trackerid',
    build: (h, p, port) =>
      `info_hash=${escapeLt(h)}&peer_id=${escapeLt(p)}&port=${port}&uploaded=123456&downloaded=654321&left=0&corrupt=0` +
      `&key=${hex8(7)}&numwant=-1&compact=1&no_peer_id=1&supportcrypto=1&redundant=0&trackerid=${escapeLt(Buffer.from('tid 1'))}`,
    expect: { left: 0, event: 'none', numwant: -1, ...none },
  },
  {
    // transmission libtransmission/announcer-http.cc announce_url_new: fixed order, key in lower-case hex,
    // corrupt only when non-zero, ipv6= (BEP 7) when it has a global address
    client: 'Transmission 4.0, started',
    build: (h, p, port) =>
      `info_hash=${escapeLower(h)}&peer_id=${escapeLower(p)}&port=${port}&uploaded=0&downloaded=0&left=4194304` +
      `&numwant=80&key=${(0x5eed).toString(16)}&compact=1&supportcrypto=1&event=started&ipv6=2001%3Adb8%3A%3A5`,
    expect: { left: 4194304, event: 'started', numwant: 80, ...none },
  },
  {
    client: 'Transmission 3.00, completed with corrupt and requirecrypto',
    build: (h, p, port) =>
      `info_hash=${escapeLower(h)}&peer_id=${escapeLower(p)}&port=${port}&uploaded=0&downloaded=4194304&left=0` +
      `&numwant=80&key=1f2e3d&compact=1&supportcrypto=1&requirecrypto=1&corrupt=16384&event=completed`,
    expect: { left: 0, event: 'completed', numwant: 80, ...none },
  },
  {
    // uTorrent / BitTorrent 7.x (Mainline): libtorrent-like order, key in upper-case hex; ipv6= with the
    // address in brackets and a port when it listens on IPv6
    client: 'uTorrent 3.5 / BitTorrent 7.11, started with a BEP 7 [ipv6]:port',
    build: (h, p, port) =>
      `info_hash=${escapeLower(h)}&peer_id=${escapeLower(p)}&port=${port}&uploaded=0&downloaded=0&left=2000000&corrupt=0` +
      `&key=${hex8(0x6a1e2f3c)}&event=started&numwant=200&compact=1&no_peer_id=1&ipv6=%5B2001%3Adb8%3A%3A7%5D%3A${port}`,
    expect: { left: 2000000, event: 'started', numwant: 200, ...none },
  },
  {
    // aria2 src/DefaultBtAnnounce.cc getAnnounceUrl: the key is the last 8 bytes of the peer id, escaped;
    // port after no_peer_id; supportcrypto last
    client: 'aria2 1.36, started',
    build: (h, p, port) =>
      `info_hash=${escapeLower(h)}&peer_id=${escapeLower(p)}&uploaded=0&downloaded=0&left=104857600&compact=1` +
      `&key=${escapeLower(p.subarray(12))}&numwant=50&no_peer_id=1&port=${port}&event=started&supportcrypto=1`,
    expect: { left: 104857600, event: 'started', numwant: 50, ...none },
  },
  {
    // Vuze / BiglyBT TRTrackerBTAnnouncerImpl.constructURL: supportcrypto before port, Azureus extensions
    client: 'Vuze 5.7 / BiglyBT, started with az* extensions',
    build: (h, p, port) =>
      `info_hash=${escapeLower(h)}&peer_id=${escapeLower(p)}&supportcrypto=1&port=${port}&azudp=${port}&uploaded=0` +
      `&downloaded=0&left=52428800&corrupt=0&event=started&numwant=100&no_peer_id=1&compact=1&key=Qx4kZ2mP&azver=3`,
    expect: { left: 52428800, event: 'started', numwant: 100, ...none },
  },
  {
    // bittorrent-tracker lib/client/http-tracker.js (WebTorrent's HTTP announces): opts first, then compact,
    // info_hash, peer_id and port; no left when the client does not know it
    client: 'WebTorrent / bittorrent-tracker client, started without left',
    build: (h, p, port) => `numwant=50&uploaded=0&downloaded=0&event=started&compact=1&info_hash=${escapeJs(h)}&peer_id=${escapeJs(p)}&port=${port}`,
    expect: { left: -1, event: 'started', numwant: 50, ...none },
  },
  {
    // rtorrent's libtorrent src/tracker/tracker_http.cc: key right after peer_id, ip= when bound to an address,
    // compact and numwant before port
    client: 'rtorrent 0.9 (libtorrent 0.13), started with ip=',
    build: (h, p, port) =>
      `info_hash=${escapeLower(h)}&peer_id=${escapeLower(p)}&key=0a1b2c3d&ip=192.168.1.30&compact=1&numwant=50` +
      `&port=${port}&uploaded=0&downloaded=0&left=1000&event=started`,
    expect: { left: 1000, event: 'started', numwant: 50, ...none },
  },
  {
    // newTrackon (the checker behind ngosang/trackerslist) scraper.py announce_http: urlencode() of a dict
    // whose ipv6 is None on a host without IPv6, so it sends the word
    client: 'newTrackon checker on a host without IPv6 (ipv6=None)',
    build: (h, p, port) =>
      `info_hash=${escapePython(h)}&peer_id=${escapePython(p)}&port=${port}&uploaded=0&downloaded=0&left=0&compact=1` + `&ipv6=None&ipv4=198.51.100.7`,
    expect: { left: 0, event: 'none', numwant: -1, lenient: ['ip'] },
  },
  {
    client: 'newTrackon checker on a host with neither address known (ipv6=None&ipv4=None)',
    build: (h, p, port) =>
      `info_hash=${escapePython(h)}&peer_id=${escapePython(p)}&port=${port}&uploaded=0&downloaded=0&left=0&compact=1` + `&ipv6=None&ipv4=None`,
    expect: { left: 0, event: 'none', numwant: -1, lenient: ['ip'] },
  },
  {
    // a BEP 3 client naming itself by DNS name, as the spec allows
    client: 'a client that sends its DNS name in ip=',
    build: (h, p, port) => `info_hash=${escapeLower(h)}&peer_id=${escapeLower(p)}&port=${port}&ip=example.com&left=10&event=started`,
    expect: { left: 10, event: 'started', numwant: -1, lenient: ['ip_name'] },
  },
  {
    // hand-written checkers and scripts: curl one-liners with junk where numbers belong
    client: 'a script with uploaded=abc, downloaded=x, left=-1',
    build: (h, p, port) => `info_hash=${escapeLower(h)}&peer_id=${escapeLower(p)}&port=${port}&uploaded=abc&downloaded=x&left=-1`,
    expect: { left: -1, event: 'none', numwant: -1, lenient: ['uploaded', 'downloaded', 'left'] },
  },
  {
    client: 'a checker with empty values and no peer_id',
    build: (h, _p, port) => `info_hash=${escapeLower(h)}&peer_id=&port=${port}&uploaded=&downloaded=&left=&event=&numwant=&key=&trackerid=&compact=1`,
    expect: { left: -1, event: 'none', numwant: -1, lenient: ['peer_id', 'uploaded', 'downloaded', 'left', 'numwant'] },
  },
  {
    client: 'a client repeating keys (the last one wins)',
    build: (h, p, port) => `info_hash=${escapeLower(h)}&peer_id=${escapeLower(p)}&port=1&port=${port}&left=5&left=0&info_hash=${escapeLt(h)}&event=started`,
    expect: { left: 0, event: 'started', numwant: -1, lenient: ['repeated'] },
  },
  {
    client: 'a client with an unknown event and a junk numwant and compact',
    build: (h, p, port) => `info_hash=${escapeLower(h)}&peer_id=${escapeLower(p)}&port=${port}&event=update&numwant=lots&compact=yes&left=1`,
    expect: { left: 1, event: 'none', numwant: -1, lenient: ['event', 'numwant', 'compact'] },
  },
  {
    client: 'a minimal announce: info_hash and port only',
    build: (h, _p, port) => `info_hash=${escapeLower(h)}&port=${port}`,
    expect: { left: -1, event: 'none', numwant: -1, ...none },
  },
];
