#!/usr/bin/env node
// The container's HEALTHCHECK (no curl in the image, and none needed): sends a BEP 15 UDP
// connect request to swarmd and exits 0 if a well-formed connect answer with the same
// transaction id comes back within 3 seconds, 1 otherwise. That is the whole UDP path: socket,
// worker thread, parser, answer. SWARMD_HEALTHCHECK=host:port (default 127.0.0.1:6969) points
// it elsewhere. Plain JavaScript, no dependencies.
import { createSocket } from 'node:dgram';
import { randomInt } from 'node:crypto';

const target = process.env.SWARMD_HEALTHCHECK || '127.0.0.1:6969';
const at = target.lastIndexOf(':');
const host = target.slice(0, at).replace(/^\[|\]$/g, '');
const port = Number(target.slice(at + 1));
const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
const transaction = randomInt(2 ** 31);
const request = Buffer.alloc(16);
request.writeBigUInt64BE(0x41727101980n, 0); // the protocol id
request.writeUInt32BE(0, 8); // action: connect
request.writeUInt32BE(transaction, 12);

const done = (ok, why) => {
  if (!ok) process.stderr.write(`swarmd healthcheck: ${target}: ${why}\n`);
  socket.close();
  process.exit(ok ? 0 : 1);
};
setTimeout(() => done(false, 'no answer within 3 s'), 3000).unref();
socket.on('error', (err) => done(false, err.message));
socket.on('message', (msg) => {
  if (msg.length >= 16 && msg.readUInt32BE(0) === 0 && msg.readUInt32BE(4) === transaction) done(true);
  else done(false, `unexpected answer (${msg.length} bytes)`);
});
socket.send(request, port, host);
