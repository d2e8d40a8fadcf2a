// Starts npm's bittorrent-tracker (installed by bench/setup.sh into bench/.peers) with its UDP
// and HTTP trackers on one port, on loopback only (IPv4 127.0.0.1 for HTTP and UDP, ::1 for its
// UDP6 socket), no /stats page; its WebSocket tracker (on the HTTP port) only with --ws. Prints
// "READY <port>" when listening.
// Plain JavaScript: it is the peer's code we run, not ours.
//
//   node bench/bittorrent-tracker.mjs --port 7000 [--ws]

import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { port: { type: 'string', default: '0' }, ws: { type: 'boolean', default: false } } });
// the package is ESM with an import-only "exports" map: import its server module by path
const { default: Server } = await import(new URL('./.peers/node_modules/bittorrent-tracker/server.js', import.meta.url).href);

const server = new Server({ udp: true, http: true, ws: values.ws, stats: false, trustProxy: false });
server.on('error', (err) => {
  process.stderr.write(`bittorrent-tracker error: ${err?.message ?? err}\n`);
});
server.on('warning', () => {}); // bad requests: counted by the load generators, not logged here
server.listen(Number(values.port), { http: '127.0.0.1', udp: '127.0.0.1', udp6: '::1' }, () => {
  process.stdout.write(`READY ${server.http.address().port}\n`);
});
const stop = () => server.close(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
