// The resolved configuration: a plain object with every field filled in.
// config-file.ts and command-line.ts build it; nothing else in here does I/O.

import os from 'node:os';
import { randomBytes } from 'node:crypto';
import type { LogLevel } from '../log.ts';

// The log levels are pino's (src/log.ts, below config in the layers); config re-exports them for its parsers.
export { LOG_LEVELS } from '../log.ts';
export type { LogLevel } from '../log.ts';

/** 'tls': HTTPS (and WSS) on the same paths as 'tcp'. */
export type Proto = 'tcp' | 'udp' | 'tls';

export type Listener = {
  proto: Proto;
  /** A literal IPv4 or IPv6 address without brackets ('::' = all interfaces, dual stack). */
  host: string;
  /** 1..65535 from the parsers. 0 is never produced by them; see the README's Configuration section. */
  port: number;
};

/** WebSocket peers per worker and swarm are counted in 16 bits (src/store/ws-swarms.ts), so ws.max_connections can't exceed this. */
export const MAX_WORKER_PEERS = 0xffff;

export type UdpIo = 'auto' | 'native' | 'dgram';
/** How HTTP connections are moved: the native epoll addon (src/io/tcp-native.ts) or node:net. */
export type TcpIo = 'auto' | 'native' | 'net';

export type HttpConfig = {
  /** Seconds a keep-alive connection may sit idle between requests. */
  idleTimeout: number;
  /** Seconds within which a whole request head must arrive, counted from the connection or the previous answer. */
  headerTimeout: number;
  /** Largest request head accepted, in bytes. */
  maxRequestBytes: number;
  keepAlive: boolean;
  /** Open connections per worker. */
  maxConnections: number;
};

/** The WebTorrent signalling server (WebSocket upgrades on the HTTP and HTTPS listeners). */
export type WsConfig = {
  enabled: boolean;
  /** Largest message accepted, in bytes (a bigger one closes the connection). */
  maxMessageBytes: number;
  /** Most offers in one announce (more: the announce is refused). */
  maxOffers: number;
  /** Most peers one announce's offers are relayed to. */
  numwantMax: number;
  /** Announce interval handed to WebSocket clients, seconds. */
  interval: number;
  /** Seconds without a message before a connection is closed. */
  idleTimeout: number;
  /** Seconds between pings; a connection that doesn't answer one before the next is closed. */
  pingInterval: number;
  /** Open WebSocket connections per worker. */
  maxConnections: number;
  /** Bytes queued for one client before it is dropped as too slow. */
  maxQueuedBytes: number;
  /** Swarms with WebSocket peers, over all workers. */
  maxSwarms: number;
};

/** Certificate and key (PEM files) of the listen.tls listeners. */
export type TlsConfig = { cert: string | null; key: string | null };

/** Info-hash access list (src/access/): at most one of whitelist and blacklist is set. */
export type AccessConfig = {
  /** List file: only the hashes it lists (with the FIFO changes) may be tracked. */
  whitelist: string | null;
  /** List file: the hashes it lists (with the FIFO changes) may not be tracked. */
  blacklist: string | null;
  /** Named pipe: each hash line written to it is added to the list. */
  fifoAdd: string | null;
  /** Named pipe: each hash line written to it is taken off the list. */
  fifoDelete: string | null;
  /** Journal of the FIFO changes; null: the list file's path + '.changes'. */
  changesFile: string | null;
};

/** The cluster (src/cluster/): off while `servers` is empty. At most one kind of credentials is set. */
export type ClusterConfig = {
  /** NATS server URLs (nats://host:port). */
  servers: string[];
  user: string | null;
  password: string | null;
  token: string | null;
  /** A file holding an NKey seed (SU...). */
  nkeySeedFile: string | null;
  /** A NATS .creds file (JWT and NKey seed). */
  credsFile: string | null;
  /** Subjects are `<prefix>.changes` and `<prefix>.snapshot`. */
  subjectPrefix: string;
  /** This node's name in NATS and in the logs. */
  nodeName: string;
};

/** The admin API of takedown notices (src/notices/admin-api.ts): off while `listen` is null. */
export type AdminConfig = {
  listen: { host: string; port: number } | null;
  /** Bearer token (admin.token, else the SWARMD_ADMIN_TOKEN environment variable). */
  token: string | null;
  /** Networks (`IP/BITS`) whose clients may use it; empty = anyone who reaches the listener. */
  networks: string[];
  /** Largest request body accepted, in bytes. */
  maxBodyBytes: number;
};

/** A public tracker's defences (README: "Running a public tracker"). */
export type LimitsConfig = {
  /** UDP requests a second one source (IPv4 address, IPv6 /64) may send on average; 0 = no limit. */
  udpPerSource: number;
  /** The same for HTTP requests. */
  httpPerSource: number;
  /** Requests a source may send at once beyond its rate. */
  burst: number;
  /** Error packets a source gets for bad connection IDs before its bad requests are ignored; 0 = always answer. */
  badConnectionIds: number;
  /** Seconds those are then ignored. */
  badConnectionIdBan: number;
  /** Event-loop delay (ms, p99) from which a worker counts as behind; 0 = never. */
  overloadDelay: number;
  /** The most the announce interval is stretched by while a worker is behind. */
  overloadMaxFactor: number;
};

export type Config = {
  listeners: Listener[];
  workers: number;
  udpIo: UdpIo;
  udpBatchSize: number;
  tcpIo: TcpIo;
  rootdir: string | null;
  user: string | null;
  redirectUrl: string | null;
  /** Path of the stats page without leading '/'. */
  statsPath: string;
  /** Networks (`IP/BITS`) allowed to read the stats pages; empty = everyone. */
  statsNetworks: string[];
  /** Path of the Prometheus metrics without leading '/' ('' = none). */
  metricsPath: string;
  /** Path of the stats JSON without leading '/' ('' = none). */
  statsJsonPath: string;
  /** Seconds between history samples (the dashboard's charts: an hour of them). */
  historyInterval: number;
  /** Share of requests logged, 0 (off) to 1. */
  logRequests: number;
  /** Reverse proxies (`IP/BITS`) whose forwarded-for headers name the client. */
  proxyNetworks: string[];
  access: AccessConfig;
  admin: AdminConfig;
  /** Journal of takedown notices (src/notices/); null: no notices. */
  noticesJournal: string | null;
  /** Path of the public list of notices without leading '/' ('' = none). */
  transparencyPath: string;
  /** Seconds. */
  interval: number;
  /** Seconds; answers carry interval - intervalVariation/2 + random(intervalVariation). */
  intervalVariation: number;
  peerTimeout: number;
  /** Peerless torrents with completions are kept this long (seconds). */
  torrentTimeout: number;
  cleanInterval: number;
  numwantDefault: number;
  numwantMax: number;
  udpNumwantMax4: number;
  udpNumwantMax6: number;
  /** Most info hashes in one HTTP scrape. */
  maxScrapeHashes: number;
  ipFromQuery: boolean;
  /** BEP 24: HTTP announce answers carry the address the tracker saw (`external ip`). */
  externalIp: boolean;
  /** Percent of each peer list that is decoys (0 = off). */
  deniabilityPercent: number;
  /** Networks (`IP/BITS`) the decoy addresses come from. */
  deniabilityRanges: string[];
  http: HttpConfig;
  ws: WsConfig;
  tls: TlsConfig;
  /** Seconds a UDP connection ID stays valid. */
  connectionIdLifetime: number;
  limits: LimitsConfig;
  /** Bytes the swarm store arena may grow to. */
  memoryLimit: number;
  /** State dump written every stateInterval seconds and loaded at start (tracker.state_file). */
  stateFile: string | null;
  /** A state dump loaded at start (opentracker's -l); also where dumps go when stateFile is null. */
  loadState: string | null;
  /** Seconds between state dumps; 0 = never write one (load only). */
  stateInterval: number;
  /** Every peer and completed count, loaded at start, written at a graceful stop (tracker.peer_state_file). */
  peerStateFile: string | null;
  /** Seconds between peer-state writes besides the one at a stop; 0: only at a stop. */
  peerStateInterval: number;
  /** `GET /scrape` without info_hash answers every torrent. */
  fullScrape: boolean;
  /** Seconds between two full scrapes of one client address (IPv6: one /64); 0 = no limit. */
  fullScrapeInterval: number;
  logLevel: LogLevel;
  cluster: ClusterConfig;
  /** Absolute path of the last config file read, or null. */
  configFile: string | null;
};

export const DEFAULT_PORT = 6969;
/** opentracker HEAD binds '::' (dual stack) unless built with WANT_V4_ONLY. */
export const DEFAULT_HOST = '::';
export const MAX_WORKERS = 256;
export const KIB = 1024;
export const MIB = 1024 * KIB;
export const GIB = 1024 * MIB;
/** The store addresses its arena with 32-bit word (4-byte) indexes. */
export const MAX_MEMORY_LIMIT = 16 * GIB;
export const MIN_MEMORY_LIMIT = 16 * MIB;
/** The shortest admin token accepted: anything shorter can be guessed. */
export const MIN_ADMIN_TOKEN_LENGTH = 16;

export function defaultWorkers(): number {
  return Math.max(1, Math.min(MAX_WORKERS, os.availableParallelism()));
}

/** 3/4 of the machine's memory, at most 16 GiB, rounded down to whole MiB. */
export function defaultMemoryLimit(): number {
  const limit = Math.min(MAX_MEMORY_LIMIT, Math.floor((os.totalmem() * 3) / 4));
  return Math.max(MIN_MEMORY_LIMIT, Math.floor(limit / MIB) * MIB);
}

/** The host name and a random suffix (drawn once per process), so two nodes on one host still differ. */
const DEFAULT_NODE_NAME = `${os.hostname()}-${randomBytes(3).toString('hex')}`;

/** The default listeners, used when nothing at all was bound (opentracker's rule). */
export function defaultListeners(host: string = DEFAULT_HOST): Listener[] {
  return [
    { proto: 'tcp', host, port: DEFAULT_PORT },
    { proto: 'udp', host, port: DEFAULT_PORT },
  ];
}

export function defaultConfig(): Config {
  return {
    listeners: defaultListeners(),
    workers: defaultWorkers(),
    udpIo: 'auto',
    udpBatchSize: 64,
    tcpIo: 'auto',
    rootdir: null,
    user: null,
    redirectUrl: null,
    statsPath: 'stats',
    statsNetworks: [],
    metricsPath: 'metrics',
    statsJsonPath: 'stats.json',
    historyInterval: 5,
    logRequests: 0,
    proxyNetworks: [],
    access: { whitelist: null, blacklist: null, fifoAdd: null, fifoDelete: null, changesFile: null },
    admin: { listen: null, token: null, networks: [], maxBodyBytes: 4 * MIB },
    noticesJournal: null,
    transparencyPath: 'transparency',
    interval: 1800,
    intervalVariation: 360,
    peerTimeout: 2700,
    torrentTimeout: 86400,
    cleanInterval: 120,
    numwantDefault: 50,
    numwantMax: 200,
    udpNumwantMax4: 200,
    udpNumwantMax6: 66,
    maxScrapeHashes: 64,
    ipFromQuery: false,
    externalIp: false,
    deniabilityPercent: 0,
    deniabilityRanges: [],
    http: {
      idleTimeout: 30,
      headerTimeout: 10,
      maxRequestBytes: 8192,
      keepAlive: true,
      maxConnections: 10000,
    },
    ws: defaultWsConfig(),
    tls: { cert: null, key: null },
    connectionIdLifetime: 120,
    limits: defaultLimits(),
    memoryLimit: defaultMemoryLimit(),
    stateFile: null,
    loadState: null,
    stateInterval: 300,
    peerStateFile: null,
    peerStateInterval: 0,
    fullScrape: true,
    fullScrapeInterval: 0,
    logLevel: 'info',
    cluster: defaultClusterConfig(),
    configFile: null,
  };
}

function defaultWsConfig(): Config['ws'] {
  return {
    enabled: true,
    maxMessageBytes: 64 * KIB,
    maxOffers: 20,
    numwantMax: 10,
    interval: 120,
    idleTimeout: 300,
    pingInterval: 60,
    maxConnections: 10000,
    maxQueuedBytes: MIB,
    maxSwarms: 65536,
  };
}

function defaultLimits(): Config['limits'] {
  return {
    udpPerSource: 0,
    httpPerSource: 0,
    burst: 100,
    badConnectionIds: 10,
    badConnectionIdBan: 600,
    overloadDelay: 250,
    overloadMaxFactor: 4,
  };
}

function defaultClusterConfig(): Config['cluster'] {
  return {
    servers: [],
    user: null,
    password: null,
    token: null,
    nkeySeedFile: null,
    credsFile: null,
    subjectPrefix: 'swarmd',
    nodeName: DEFAULT_NODE_NAME,
  };
}

/**
 * Bad configuration. `errors` holds every problem found (one line each, naming the file and line
 * or the switch); `message` is them joined by newlines.
 */
export class ConfigError extends Error {
  readonly errors: string[];
  constructor(errors: string | string[]) {
    const list = typeof errors === 'string' ? [errors] : errors;
    super(list.join('\n'));
    this.name = 'ConfigError';
    this.errors = list;
  }
}
