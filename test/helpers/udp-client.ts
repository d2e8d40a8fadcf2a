// A plain BEP 15 client on node:dgram, written from the spec, independent of src/protocol.

import dgram from 'node:dgram';

export class UdpClient {
  readonly socket: dgram.Socket;
  private readonly host: string;
  private readonly port: number;
  private tid = 1;

  private constructor(socket: dgram.Socket, host: string, port: number) {
    this.socket = socket;
    this.host = host;
    this.port = port;
  }

  static async open(host: string, port: number, bindAddress?: string): Promise<UdpClient> {
    const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve) => socket.bind({ address: bindAddress ?? host, port: 0 }, resolve));
    return new UdpClient(socket, host, port);
  }

  /** Sends and waits for one reply; null after `timeoutMs` without one. */
  request(packet: Buffer, timeoutMs = 2000): Promise<Buffer | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.socket.off('message', onMessage);
        resolve(null);
      }, timeoutMs);
      const onMessage = (msg: Buffer) => {
        clearTimeout(timer);
        this.socket.off('message', onMessage);
        resolve(msg);
      };
      this.socket.on('message', onMessage);
      this.socket.send(packet, this.port, this.host);
    });
  }

  nextTransactionId(): number {
    return this.tid++;
  }

  async connect(): Promise<Buffer> {
    const p = Buffer.alloc(16);
    p.writeUInt32BE(0x417, 0);
    p.writeUInt32BE(0x27101980, 4);
    p.writeUInt32BE(0, 8);
    const tid = this.nextTransactionId();
    p.writeUInt32BE(tid, 12);
    const r = await this.request(p);
    if (r === null || r.length !== 16 || r.readUInt32BE(0) !== 0 || r.readUInt32BE(4) !== tid) throw new Error('bad connect reply');
    return r.subarray(8, 16);
  }

  close(): void {
    this.socket.close();
  }
}

export type AnnounceFields = {
  connectionId: Buffer;
  transactionId: number;
  infoHash: Buffer;
  peerId?: Buffer;
  downloaded?: bigint;
  left?: bigint;
  uploaded?: bigint;
  event?: number;
  ip?: number;
  key?: number;
  numwant?: number;
  port: number;
};

export function announcePacket(f: AnnounceFields): Buffer {
  const p = Buffer.alloc(98);
  f.connectionId.copy(p, 0);
  p.writeUInt32BE(1, 8);
  p.writeUInt32BE(f.transactionId, 12);
  f.infoHash.copy(p, 16);
  (f.peerId ?? Buffer.from('-TS0001-000000000000')).copy(p, 36);
  p.writeBigUInt64BE(f.downloaded ?? 0n, 56);
  p.writeBigUInt64BE(f.left ?? 1000n, 64);
  p.writeBigUInt64BE(f.uploaded ?? 0n, 72);
  p.writeUInt32BE(f.event ?? 0, 80);
  p.writeUInt32BE(f.ip ?? 0, 84);
  p.writeUInt32BE(f.key ?? 0, 88);
  p.writeInt32BE(f.numwant ?? -1, 92);
  p.writeUInt16BE(f.port, 96);
  return p;
}

export function scrapePacket(connectionId: Buffer, transactionId: number, hashes: Buffer[]): Buffer {
  const p = Buffer.alloc(16 + 20 * hashes.length);
  connectionId.copy(p, 0);
  p.writeUInt32BE(2, 8);
  p.writeUInt32BE(transactionId, 12);
  hashes.forEach((h, i) => h.copy(p, 16 + 20 * i));
  return p;
}

export type AnnounceReply = { interval: number; leechers: number; seeders: number; peers: string[] };

export function parseAnnounceReply(r: Buffer, v6: boolean): AnnounceReply {
  if (r.readUInt32BE(0) !== 1) throw new Error(`not an announce reply: action ${r.readUInt32BE(0)}`);
  const size = v6 ? 18 : 6;
  const peers: string[] = [];
  for (let o = 20; o + size <= r.length; o += size) {
    if (v6) {
      const words: string[] = [];
      for (let k = 0; k < 16; k += 2) words.push(r.readUInt16BE(o + k).toString(16));
      peers.push(`[${words.join(':')}]:${r.readUInt16BE(o + 16)}`);
    } else peers.push(`${r[o]}.${r[o + 1]}.${r[o + 2]}.${r[o + 3]}:${r.readUInt16BE(o + 4)}`);
  }
  if ((r.length - 20) % size !== 0) throw new Error('ragged peer list');
  return { interval: r.readUInt32BE(8), leechers: r.readUInt32BE(12), seeders: r.readUInt32BE(16), peers };
}
