// Woodpecker spotting (opentracker's WANT_SPOT_WOODPECKER): networks whose clients re-announce
// far sooner than the interval asks. Each worker counts into its own small table in shared
// memory (IPv4 by /28, IPv6 by /48); counts halve on every cleaning pass so the list shows who
// does it now; any thread can merge the tables into the top list.

const SLOTS = 1024; // per worker
const SLOT_WORDS = 4; // [family, network word 0, network word 1, count]
const PROBES = 8;
const TOP = 128;

export class Woodpeckers {
  private readonly all: Uint32Array;
  private readonly own: Uint32Array;

  static create(rows: number): SharedArrayBuffer {
    return new SharedArrayBuffer(rows * SLOTS * SLOT_WORDS * 4);
  }

  constructor(buffer: SharedArrayBuffer, row: number) {
    this.all = new Uint32Array(buffer);
    this.own = new Uint32Array(buffer, row * SLOTS * SLOT_WORDS * 4, SLOTS * SLOT_WORDS);
  }

  /** Counts one early re-announce from the address (4 or 16 bytes at `offset`). */
  note(family: number, address: Uint8Array, offset: number): void {
    const o = offset;
    let w0: number;
    let w1 = 0;
    if (family === 4) w0 = ((address[o] << 24) | (address[o + 1] << 16) | (address[o + 2] << 8) | (address[o + 3] & 0xf0)) >>> 0;
    else {
      w0 = ((address[o] << 24) | (address[o + 1] << 16) | (address[o + 2] << 8) | address[o + 3]) >>> 0;
      w1 = ((address[o + 4] << 8) | address[o + 5]) >>> 0;
    }
    const t = this.own;
    let slot = (Math.imul(w0 ^ Math.imul(w1, 0x9e3779b1), 0x85ebca6b) >>> 22) & (SLOTS - 1);
    for (let i = 0; i < PROBES; i++, slot = (slot + 1) & (SLOTS - 1)) {
      const p = slot * SLOT_WORDS;
      if (t[p + 3] === 0) {
        t[p] = family;
        t[p + 1] = w0;
        t[p + 2] = w1;
      } else if (t[p] !== family || t[p + 1] !== w0 || t[p + 2] !== w1) continue;
      t[p + 3]++;
      return;
    }
    // A full neighbourhood: this network isn't among the busy ones worth a slot.
  }

  /** Halves this worker's counts (called once per cleaning pass). */
  decay(): void {
    const t = this.own;
    for (let p = 3; p < t.length; p += SLOT_WORDS) t[p] >>>= 1;
  }

  /** The busiest networks over every worker, opentracker's layout. */
  report(): string {
    const merged = new Map<string, number>();
    const t = this.all;
    for (let p = 0; p < t.length; p += SLOT_WORDS) {
      if (t[p + 3] === 0) continue;
      const key = t[p] === 4 ? ipv4(t[p + 1]) + '/28' : ipv6(t[p + 1], t[p + 2]) + '/48';
      merged.set(key, (merged.get(key) ?? 0) + t[p + 3]);
    }
    const lines = [...merged]
      .sort((a, b) => b[1] - a[1])
      .slice(0, TOP)
      .map(([net, n]) => `${String(n).padStart(8, '0')}: ${net}\n`)
      .join('');
    return `Networks re-announcing too fast:\n${lines}`;
  }
}

function ipv4(w: number): string {
  return `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;
}

function ipv6(w0: number, w1: number): string {
  return `${(w0 >>> 16).toString(16)}:${(w0 & 0xffff).toString(16)}:${w1.toString(16)}::`;
}
