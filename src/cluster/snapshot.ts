// Walks the store into batches: the whole swarm state for a joining node's snapshot (every peer,
// local or learnt, and the completed counts), or only this node's own peers for the resync after a
// reconnect. The walk takes one stripe's lock at a time and lets the event loop turn every few
// stripes, so a walk of millions of peers never holds announces up.

import { STRIPES } from '../store/swarm-store.ts';
import type { SwarmStore } from '../store/swarm-store.ts';
import { BatchWriter, PEER_RECORD_BYTES4, PEER_RECORD_BYTES6, REC_PEER, TORRENT_RECORD_BYTES } from './codec.ts';

const STRIPES_PER_TURN = 64;

export type SwarmWalk = {
  /** Only the peers announced to this node (the resync), without completed counts. */
  localOnly: boolean;
  /** Takes each full batch out of the writer, synchronously: a stripe's lock is held meanwhile. */
  emit: (writer: BatchWriter) => void;
  /** Awaited every few stripes: lets the event loop turn (and the link send what was emitted). */
  pause: () => Promise<void>;
};

/** Writes the store into `writer`, emitting each batch that fills; the last one is left in the writer. */
export async function walkSwarms(store: SwarmStore, writer: BatchWriter, walk: SwarmWalk): Promise<void> {
  const torrent = (hash: Uint8Array, hashOffset: number, completed: number) => {
    if (walk.localOnly || completed === 0) return;
    if (!writer.fits(TORRENT_RECORD_BYTES)) walk.emit(writer);
    writer.torrent(hash, hashOffset, completed);
  };
  const peer = (hash: Uint8Array, hashOffset: number, family: number, address: Uint8Array, port: number, seeder: boolean, synced: boolean) => {
    if (walk.localOnly && synced) return;
    if (!writer.fits(family === 4 ? PEER_RECORD_BYTES4 : PEER_RECORD_BYTES6)) walk.emit(writer);
    writer.peer(REC_PEER, hash, hashOffset, family, address, 0, port, seeder);
  };
  for (let i = 0; i < STRIPES; i++) {
    store.visitStripe(i, torrent, peer);
    if (i % STRIPES_PER_TURN === STRIPES_PER_TURN - 1) await walk.pause();
  }
}
