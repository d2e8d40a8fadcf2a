/*
 * swarmd_tcp: a TCP byte mover for the HTTP tracker. Node's `net` costs ~55-65 µs of CPU per
 * Connection: close request on the machines swarmd is measured on, the C floor (accept4, read,
 * write, close under epoll) ~30 µs: the difference is Node's per-socket machinery, which no
 * JavaScript change removes. So, as swarmd_udp does for datagrams, this addon moves the bytes of
 * many connections per wake-up and TypeScript does everything else (src/io/tcp-native.ts is its
 * only caller and documents the layouts for the TypeScript side).
 *
 * Per instance: listening sockets (SO_REUSEPORT so each worker thread has its own), one epoll
 * descriptor polled by libuv (uv_poll on the epoll fd, level-triggered), a table of connection
 * slots (grown on demand up to max_connections, reused through a free list), and a coarse timer
 * sweeping two deadline-ordered lists (new connections: header timeout; kept-alive ones: idle
 * timeout). Per wake-up it accepts every pending connection (accept4, non-blocking), reads what
 * each sent (one read of at most max_request bytes into the shared rx buffer, tried at once on
 * accept: the request usually arrived with the handshake), and calls onBatch once with every
 * connection whose bytes hold a complete request head (a blank line) or reached max_request (the
 * parser in TypeScript answers 431). JavaScript answers every one of them into the tx buffer and
 * calls flush() once: each answer is written with one send(); then the connection is closed,
 * kept (back to epoll, idle timeout), or handed over.
 *
 * Handed over (the fd leaves epoll and the slot table; JavaScript wraps it in a net.Socket):
 *  - reason 1, partial head: the read got bytes without the end of a head (below max_request);
 *    the bytes come with it. The C stays small: no per-connection buffers here.
 *  - reason 2, write blocked: the socket didn't take an answer whole; how much it took comes with it.
 *  - reason 3, asked: JavaScript's answer said so (WebSocket upgrade, streamed answers, ...).
 * A connection delivered to onBatch and not answered by the time it returns is closed
 * (counted as unanswered), so no slot is ever stuck.
 *
 * Every length and offset JavaScript gives is checked against the buffer it points into; slot
 * ids carry a generation, so an answer for a slot that was closed and reused is refused
 * (badAnswers) rather than written to another client. Over max_connections, a connection is
 * accepted and closed at once (refused). EMFILE on accept pauses the listener until the next
 * sweep instead of spinning.
 *
 * JS API (Node-API only, NAPI_VERSION 8, plus libuv: one build loads in every Node >= 16;
 * context-aware, each worker thread has its own instances on its own loop):
 *   open(state, maxConnections, maxRequest, headerTimeoutMs, idleTimeoutMs) -> handle
 *       state: rxData (Uint8Array, >= maxRequest bytes), rxMeta (Int32Array, RX_STRIDE per
 *       entry: slot id, offset, length, listener), rxAddrs (Uint8Array, 20 bytes per entry, the
 *       layout of sock_common.h), txData (Uint8Array), txMeta (Int32Array, TX_STRIDE per entry:
 *       slot id, offset, length, action 0 close / 1 keep / 2 hand over), hoMeta (Int32Array,
 *       HO_STRIDE per entry: fd, reason, a, b; reason 1: a, b = offset, length in rxData;
 *       reasons 2 and 3: a = tx entry, b = bytes written), counters (Float64Array, C_COUNT),
 *       onBatch(requests, handovers). The capacity in entries is rxMeta.length / RX_STRIDE;
 *       txMeta and hoMeta must hold as many.
 *   listen(handle, host, port, flags, backlog) -> listener index; flags: 1 SO_REUSEPORT, 2 IPV6_V6ONLY
 *   address(handle, listener) -> [family, port, address]
 *   flush(handle, count) -> handovers written into hoMeta (only valid inside onBatch)
 *   close(handle)
 *
 * AddressSanitizer: SWARMD_NATIVE_ASAN=1 node scripts/build-native.js builds this file with
 * -fsanitize=address into native/build-asan/; `npm run fuzz -- --tcp-native --asan` runs the
 * hostile-input fuzzer against a server on that build (node started with LD_PRELOAD of
 * `gcc -print-file-name=libasan.so`).
 */
#define _GNU_SOURCE
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>
#include <uv.h>

#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "sock_common.h"

#define RX_STRIDE 4
#define TX_STRIDE 4
#define HO_STRIDE 4
#define MAX_LISTENERS 16
#define MAX_EVENTS 256
#define MAX_ROUNDS 4          /* epoll_wait rounds per wake-up before yielding to the loop */
#define ACCEPTS_PER_EVENT 256 /* per listener event: the rest of the backlog wakes us again */
#define SLOT_BITS 20          /* slot id = generation << 20 | index */
#define MAX_SLOTS ((1u << SLOT_BITS) - 1)
#define LISTEN_TAG (1ull << 63)
#define DRAIN_MAX (1u << 20)  /* unread request bytes discarded before a close; past it, a reset */

enum { ACT_CLOSE, ACT_KEEP, ACT_HANDOVER };
enum { HO_PARTIAL_HEAD = 1, HO_WRITE_BLOCKED = 2, HO_ASKED = 3 };
enum { S_FREE, S_WAITING, S_WITH_JS };
enum { L_NONE, L_HEADER, L_IDLE };

/* Same order as COUNTER_NAMES in src/io/tcp-native.ts. Doubles: they never wrap. */
enum {
  C_ACCEPTED, C_REFUSED, C_ACCEPT_ERRORS, C_REQUESTS, C_HO_PARTIAL, C_HO_WRITE, C_HO_ASKED, C_TIMEOUTS,
  C_PEER_CLOSED, C_READ_ERRORS, C_WRITE_ERRORS, C_BYTES_IN, C_BYTES_OUT, C_BATCHES, C_HANDLER_ERRORS,
  C_UNANSWERED, C_BAD_ANSWERS, C_OPEN, C_COUNT
};

typedef struct {
  int fd;
  uint16_t gen;
  uint8_t state, list, in_epoll, nodelay, listener;
  uint8_t full; /* the last read filled max_request: more of the request may be unread */
  int32_t prev, next; /* deadline list links; next is also the free-list link */
  uint64_t deadline;  /* ms, uv_now's clock */
  uint8_t addr[ADDR_SIZE];
} slot_t;

typedef struct {
  int32_t head, tail;
} list_t;

typedef struct {
  js_link_t link; /* first: the handle points at it; keeps the batch memory and onBatch alive */
  uv_loop_t *loop;
  uv_poll_t poll;
  uv_timer_t timer;
  int epfd;
  int closing, handles_open;
  int listen_fd[MAX_LISTENERS], listen_paused[MAX_LISTENERS], nlisten;
  /* limits */
  uint32_t max_slots, max_request;
  uint64_t header_ms, idle_ms;
  /* slots */
  slot_t *slots;
  uint32_t nslots, used;
  int32_t free_head;
  list_t lists[3];
  /* the shared batch memory (owned by the JS state object, which the link keeps alive) */
  uint32_t cap;
  uint8_t *rx_data, *rx_addrs, *tx_data;
  size_t rx_bytes, tx_bytes;
  int32_t *rx_meta, *tx_meta, *ho_meta;
  double *counters;
  /* the batch being filled: C's own copy of the delivered slot ids (rxMeta is writable by JS) */
  uint32_t nreq, nho, fill;
  int32_t *pending;
  struct epoll_event events[MAX_EVENTS];
  uint8_t scratch[16384];
} tcp_t;

static int32_t slot_id(tcp_t *t, uint32_t i) { return (int32_t)(((uint32_t)(t->slots[i].gen & 0x7ff) << SLOT_BITS) | i); }

/* The slot an id names, if it is still that connection and JavaScript holds it; else -1. */
static int64_t slot_of(tcp_t *t, int32_t id) {
  if (id < 0) return -1;
  uint32_t i = (uint32_t)id & MAX_SLOTS;
  if (i >= t->nslots || ((uint32_t)id >> SLOT_BITS) != (t->slots[i].gen & 0x7ffu) || t->slots[i].state != S_WITH_JS) return -1;
  return i;
}

static void list_remove(tcp_t *t, uint32_t i) {
  slot_t *s = &t->slots[i];
  if (s->list == L_NONE) return;
  list_t *l = &t->lists[s->list];
  if (s->prev >= 0) t->slots[s->prev].next = s->next; else l->head = s->next;
  if (s->next >= 0) t->slots[s->next].prev = s->prev; else l->tail = s->prev;
  s->list = L_NONE;
  s->prev = s->next = -1;
}

/* Appends: every slot on a list got the same timeout, so each list stays ordered by deadline. */
static void list_append(tcp_t *t, uint32_t i, int which, uint64_t deadline) {
  slot_t *s = &t->slots[i];
  list_t *l = &t->lists[which];
  s->list = (uint8_t)which;
  s->deadline = deadline;
  s->next = -1;
  s->prev = l->tail;
  if (l->tail >= 0) t->slots[l->tail].next = (int32_t)i; else l->head = (int32_t)i;
  l->tail = (int32_t)i;
}

static int64_t slot_alloc(tcp_t *t) {
  if (t->free_head < 0) {
    if (t->nslots >= t->max_slots) return -1;
    uint32_t n = t->nslots ? t->nslots * 2 : 256;
    if (n > t->max_slots) n = t->max_slots;
    slot_t *grown = realloc(t->slots, (size_t)n * sizeof *grown);
    if (!grown) return -1;
    t->slots = grown;
    for (uint32_t i = n; i-- > t->nslots;) {
      memset(&grown[i], 0, sizeof grown[i]);
      grown[i].fd = -1;
      grown[i].prev = -1;
      grown[i].next = t->free_head;
      t->free_head = (int32_t)i;
    }
    t->nslots = n;
  }
  uint32_t i = (uint32_t)t->free_head;
  t->free_head = t->slots[i].next;
  t->slots[i].next = t->slots[i].prev = -1;
  t->used++;
  t->counters[C_OPEN] = t->used;
  return i;
}

/* Forgets the slot; the fd is closed unless it was handed over (keep_fd). */
static void slot_free(tcp_t *t, uint32_t i, int keep_fd) {
  slot_t *s = &t->slots[i];
  list_remove(t, i);
  if (keep_fd) {
    if (s->in_epoll) epoll_ctl(t->epfd, EPOLL_CTL_DEL, s->fd, NULL);
  } else {
    close(s->fd); /* also leaves epoll */
  }
  s->fd = -1;
  s->state = S_FREE;
  s->in_epoll = s->nodelay = s->full = 0;
  s->gen++;
  s->next = t->free_head;
  t->free_head = (int32_t)i;
  t->used--;
  t->counters[C_OPEN] = t->used;
}

/* Calls onBatch with the requests and handovers gathered so far; closes what wasn't answered. */
static void deliver(tcp_t *t) {
  if (t->nreq == 0 && t->nho == 0) return;
  napi_env env = t->link.env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value argv[2];
  napi_create_uint32(env, t->nreq, &argv[0]);
  napi_create_uint32(env, t->nho, &argv[1]);
  t->counters[C_BATCHES]++;
  /* onBatch catches the handler's errors, so a throw is a bug there or a terminating worker */
  if (!link_call(&t->link, "onBatch", 2, argv, NULL)) t->counters[C_HANDLER_ERRORS]++;
  napi_close_handle_scope(env, scope);
  if (!t->closing) {
    for (uint32_t k = 0; k < t->nreq; k++) {
      int64_t i = slot_of(t, t->pending[k]);
      if (i < 0) continue;
      t->counters[C_UNANSWERED]++;
      slot_free(t, (uint32_t)i, 0);
    }
  }
  t->nreq = t->nho = t->fill = 0;
}

/* Room for one more read and one more entry of each kind, delivering first when there isn't. */
static void make_room(tcp_t *t) {
  if (t->nreq >= t->cap || t->nho >= t->cap || t->rx_bytes - t->fill < t->max_request) deliver(t);
}

static void watch(tcp_t *t, uint32_t i, int which, uint64_t timeout) {
  slot_t *s = &t->slots[i];
  if (!s->in_epoll) {
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = ((uint64_t)s->gen << 32) | i};
    if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, s->fd, &ev) < 0) {
      t->counters[C_READ_ERRORS]++;
      slot_free(t, i, 0);
      return;
    }
    s->in_epoll = 1;
  }
  s->state = S_WAITING;
  list_append(t, i, which, uv_now(t->loop) + timeout);
}

/* A blank line in buf: LF, maybe CR, LF (the head parser accepts bare LF line ends too). */
static int has_head_end(const uint8_t *buf, size_t n) {
  const uint8_t *p = buf, *end = buf + n;
  while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
    if (++p >= end) return 0;
    if (*p == '\n' || (*p == '\r' && p + 1 < end && p[1] == '\n')) return 1;
  }
  return 0;
}

/* One read from a connection: a request for the batch, a handover, a close, or (EAGAIN) a wait
 * under the given timeout. */
static void read_slot(tcp_t *t, uint32_t i, int which, uint64_t timeout) {
  if (t->closing) return;
  make_room(t);
  if (t->closing) return;
  slot_t *s = &t->slots[i];
  uint8_t *buf = t->rx_data + t->fill;
  ssize_t r;
  do r = read(s->fd, buf, t->max_request); while (r < 0 && errno == EINTR);
  if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    if (s->state != S_WAITING) watch(t, i, which, timeout);
    return;
  }
  if (r <= 0) {
    t->counters[r == 0 ? C_PEER_CLOSED : C_READ_ERRORS]++;
    slot_free(t, i, 0);
    return;
  }
  t->counters[C_BYTES_IN] += (double)r;
  list_remove(t, i);
  s->full = (uint32_t)r == t->max_request;
  if (s->full || has_head_end(buf, (size_t)r)) {
    int32_t *m = t->rx_meta + (size_t)t->nreq * RX_STRIDE;
    m[0] = t->pending[t->nreq] = slot_id(t, i);
    m[1] = (int32_t)t->fill;
    m[2] = (int32_t)r;
    m[3] = s->listener;
    memcpy(t->rx_addrs + (size_t)t->nreq * ADDR_SIZE, s->addr, ADDR_SIZE);
    s->state = S_WITH_JS;
    t->nreq++;
    t->counters[C_REQUESTS]++;
  } else {
    int32_t *m = t->ho_meta + (size_t)t->nho * HO_STRIDE;
    m[0] = s->fd;
    m[1] = HO_PARTIAL_HEAD;
    m[2] = (int32_t)t->fill;
    m[3] = (int32_t)r;
    t->nho++;
    t->counters[C_HO_PARTIAL]++;
    slot_free(t, i, 1);
  }
  t->fill += (uint32_t)r;
}

static void pause_listener(tcp_t *t, int li) {
  if (t->listen_paused[li]) return;
  epoll_ctl(t->epfd, EPOLL_CTL_DEL, t->listen_fd[li], NULL);
  t->listen_paused[li] = 1;
}

static void accept_some(tcp_t *t, int li) {
  for (int k = 0; k < ACCEPTS_PER_EVENT && !t->closing; k++) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int fd = accept4(t->listen_fd[li], (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      t->counters[C_ACCEPT_ERRORS]++;
      /* out of descriptors or memory: the listener stays readable, so stop polling it until
       * the next sweep rather than spin; the kernel's backlog holds the connections meanwhile */
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) pause_listener(t, li);
      return;
    }
    t->counters[C_ACCEPTED]++;
    int64_t i = slot_alloc(t);
    if (i < 0) {
      t->counters[C_REFUSED]++;
      close(fd);
      continue;
    }
    slot_t *s = &t->slots[i];
    s->fd = fd;
    s->listener = (uint8_t)li;
    s->state = S_FREE; /* not waiting yet: read_slot decides */
    addr_to_slot(&ss, s->addr);
    read_slot(t, (uint32_t)i, L_HEADER, t->header_ms);
  }
}

static void on_poll(uv_poll_t *h, int status, int events) {
  tcp_t *t = h->data;
  (void)status; (void)events;
  for (int round = 0; round < MAX_ROUNDS && !t->closing; round++) {
    int n;
    do n = epoll_wait(t->epfd, t->events, MAX_EVENTS, 0); while (n < 0 && errno == EINTR);
    if (n <= 0) break;
    for (int e = 0; e < n && !t->closing; e++) {
      uint64_t tag = t->events[e].data.u64;
      if (tag & LISTEN_TAG) {
        accept_some(t, (int)(tag & 0xff));
        continue;
      }
      uint32_t i = (uint32_t)tag;
      if (i >= t->nslots || t->slots[i].gen != (uint16_t)(tag >> 32) || t->slots[i].state != S_WAITING) continue;
      read_slot(t, i, t->slots[i].list, t->slots[i].list == L_IDLE ? t->idle_ms : t->header_ms);
    }
    deliver(t);
    if (n < MAX_EVENTS) break;
  }
}

static void expire(tcp_t *t, int which, uint64_t now) {
  while (t->lists[which].head >= 0 && t->slots[t->lists[which].head].deadline <= now) {
    t->counters[C_TIMEOUTS]++;
    slot_free(t, (uint32_t)t->lists[which].head, 0);
  }
}

static void on_timer(uv_timer_t *h) {
  tcp_t *t = h->data;
  if (t->closing) return;
  uint64_t now = uv_now(t->loop);
  expire(t, L_HEADER, now);
  expire(t, L_IDLE, now);
  for (int li = 0; li < t->nlisten; li++) {
    if (!t->listen_paused[li]) continue;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = LISTEN_TAG | (uint64_t)li};
    if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->listen_fd[li], &ev) == 0) t->listen_paused[li] = 0;
  }
}

/* Before closing a connection that may hold unread request bytes: read them (up to DRAIN_MAX),
 * or close() would reset the connection and the client could lose the answer just written. */
static void drain(tcp_t *t, int fd) {
  for (size_t total = 0; total < DRAIN_MAX;) {
    ssize_t r = read(fd, t->scratch, sizeof t->scratch);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return;
    total += (size_t)r;
    t->counters[C_BYTES_IN] += (double)r;
  }
}

/* One answer: written, then the connection closed, kept or handed over. Returns 1 when it was
 * handed over (an entry added to hoMeta at *nho). */
static int answer(tcp_t *t, uint32_t k, uint32_t *nho) {
  const int32_t *m = t->tx_meta + (size_t)k * TX_STRIDE;
  int32_t id = m[0], off = m[1], len = m[2], action = m[3];
  int64_t found = slot_of(t, id);
  if (found < 0) { t->counters[C_BAD_ANSWERS]++; return 0; }
  uint32_t i = (uint32_t)found;
  if (off < 0 || len < 0 || (size_t)off + (size_t)len > t->tx_bytes || action < ACT_CLOSE || action > ACT_HANDOVER) {
    t->counters[C_BAD_ANSWERS]++;
    slot_free(t, i, 0);
    return 0;
  }
  slot_t *s = &t->slots[i];
  ssize_t w = 0;
  if (len > 0) {
    do w = send(s->fd, t->tx_data + off, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT); while (w < 0 && errno == EINTR);
    if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      t->counters[C_WRITE_ERRORS]++;
      slot_free(t, i, 0);
      return 0;
    }
    if (w < 0) w = 0;
    t->counters[C_BYTES_OUT] += (double)w;
  }
  if (w < len || action == ACT_HANDOVER) {
    int32_t *h = t->ho_meta + (size_t)*nho * HO_STRIDE;
    h[0] = s->fd;
    h[1] = action == ACT_HANDOVER ? HO_ASKED : HO_WRITE_BLOCKED;
    h[2] = (int32_t)k;
    h[3] = (int32_t)w;
    t->counters[action == ACT_HANDOVER ? C_HO_ASKED : C_HO_WRITE]++;
    (*nho)++;
    slot_free(t, i, 1);
    return 1;
  }
  if (action == ACT_CLOSE) {
    if (s->full) drain(t, s->fd);
    slot_free(t, i, 0);
    return 0;
  }
  if (!s->nodelay) {
    /* kept: answers must not wait for the client's delayed ACK of the previous one */
    int one = 1;
    setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    s->nodelay = 1;
  }
  watch(t, i, L_IDLE, t->idle_ms);
  return 0;
}

static void free_tcp(void *owner) {
  tcp_t *t = owner;
  free(t->slots);
  free(t->pending);
  free(t);
}

static void on_handle_closed(uv_handle_t *h) {
  tcp_t *t = h->data;
  if (--t->handles_open == 0) link_release(&t->link);
}

static void do_close(void *owner) {
  tcp_t *t = owner;
  if (t->closing) return;
  t->closing = 1;
  uv_close((uv_handle_t *)&t->poll, on_handle_closed);
  uv_close((uv_handle_t *)&t->timer, on_handle_closed);
  for (uint32_t i = 0; i < t->nslots; i++)
    if (t->slots[i].state != S_FREE || t->slots[i].fd >= 0) slot_free(t, i, 0);
  for (int li = 0; li < t->nlisten; li++) close(t->listen_fd[li]);
  t->nlisten = 0;
  close(t->epfd);
  t->epfd = -1;
}

static tcp_t *get_tcp(napi_env env, napi_value v) { return get_external(env, v); }

/* Reads the state object's arrays into t; 0 when one is missing or too small. */
static int take_state(napi_env env, napi_value state, tcp_t *t) {
  void *rx_meta = NULL;
  size_t meta_bytes = 0, addr_bytes = 0;
  napi_value cb;
  napi_valuetype cbt = napi_undefined;
  if (napi_get_named_property(env, state, "onBatch", &cb) == napi_ok) napi_typeof(env, cb, &cbt);
  if (cbt != napi_function || !get_array(env, state, "rxMeta", napi_int32_array, 4 * RX_STRIDE, &rx_meta, &meta_bytes)) return 0;
  uint32_t cap = (uint32_t)(meta_bytes / (4 * RX_STRIDE));
  if (cap > 4096) return 0;
  void *rx_data, *rx_addrs, *tx_data, *tx_meta, *ho_meta, *counters;
  if (!get_array(env, state, "rxData", napi_uint8_array, t->max_request, &rx_data, &t->rx_bytes) ||
      !get_array(env, state, "rxAddrs", napi_uint8_array, (size_t)cap * ADDR_SIZE, &rx_addrs, &addr_bytes) ||
      !get_array(env, state, "txData", napi_uint8_array, 1, &tx_data, &t->tx_bytes) ||
      !get_array(env, state, "txMeta", napi_int32_array, (size_t)cap * 4 * TX_STRIDE, &tx_meta, NULL) ||
      !get_array(env, state, "hoMeta", napi_int32_array, (size_t)cap * 4 * HO_STRIDE, &ho_meta, NULL) ||
      !get_array(env, state, "counters", napi_float64_array, C_COUNT * 8, &counters, NULL) ||
      t->rx_bytes > INT32_MAX || t->tx_bytes > INT32_MAX)
    return 0;
  t->cap = cap;
  t->rx_meta = rx_meta; t->rx_data = rx_data; t->rx_addrs = rx_addrs;
  t->tx_data = tx_data; t->tx_meta = tx_meta; t->ho_meta = ho_meta;
  t->counters = counters;
  return 1;
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5], handle;
  uint32_t max_conn, max_request, header_ms, idle_ms;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 5 || napi_get_value_uint32(env, argv[1], &max_conn) != napi_ok ||
      napi_get_value_uint32(env, argv[2], &max_request) != napi_ok ||
      napi_get_value_uint32(env, argv[3], &header_ms) != napi_ok || napi_get_value_uint32(env, argv[4], &idle_ms) != napi_ok ||
      max_conn < 1 || max_conn > MAX_SLOTS || max_request < 16 || max_request > (1u << 24) || header_ms < 1 || idle_ms < 1) {
    napi_throw_type_error(env, NULL, "open(state, maxConnections 1..1048575, maxRequest 16..16M, headerTimeoutMs, idleTimeoutMs)");
    return NULL;
  }
  tcp_t *t = calloc(1, sizeof *t);
  if (!t) { napi_throw_error(env, "ENOMEM", "open: out of memory"); return NULL; }
  t->max_slots = max_conn; t->max_request = max_request;
  t->header_ms = header_ms; t->idle_ms = idle_ms;
  t->free_head = -1;
  for (int l = 0; l < 3; l++) t->lists[l].head = t->lists[l].tail = -1;
  if (!take_state(env, argv[0], t)) {
    free(t);
    napi_throw_type_error(env, NULL, "open: bad batch state");
    return NULL;
  }
  t->pending = calloc(t->cap, sizeof *t->pending);
  t->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (!t->pending || t->epfd < 0 || napi_get_uv_event_loop(env, &t->loop) != napi_ok ||
      uv_poll_init(t->loop, &t->poll, t->epfd) != 0) {
    int e = errno;
    if (t->epfd >= 0) close(t->epfd);
    free(t->pending); free(t);
    return throw_errno(env, "epoll_create1", "-", 0, e);
  }
  t->poll.data = t;
  uv_timer_init(t->loop, &t->timer);
  t->timer.data = t;
  uv_unref((uv_handle_t *)&t->timer);
  t->handles_open = 2;
  uint64_t sweep = (header_ms < idle_ms ? header_ms : idle_ms) / 4;
  sweep = sweep < 50 ? 50 : sweep > 1000 ? 1000 : sweep;
  uv_timer_start(&t->timer, on_timer, sweep, sweep);
  t->link.close_owner = do_close;
  t->link.free_owner = free_tcp;
  handle = link_open(env, &t->link, argv[0], "swarmd:tcp");
  int r = uv_poll_start(&t->poll, UV_READABLE, on_poll);
  if (r != 0) {
    do_close(t);
    napi_throw_error(env, NULL, uv_strerror(r));
    return NULL;
  }
  return handle;
}

static napi_value js_listen(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5], out;
  char host[128];
  int32_t port, flags, backlog;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  tcp_t *t = argc == 5 ? get_tcp(env, argv[0]) : NULL;
  if (!t || napi_get_value_string_utf8(env, argv[1], host, sizeof host, NULL) != napi_ok ||
      napi_get_value_int32(env, argv[2], &port) != napi_ok || napi_get_value_int32(env, argv[3], &flags) != napi_ok ||
      napi_get_value_int32(env, argv[4], &backlog) != napi_ok || port < 0 || port > 65535 || backlog < 1) {
    napi_throw_type_error(env, NULL, "listen(handle, host, port, flags, backlog)");
    return NULL;
  }
  if (t->closing || t->nlisten >= MAX_LISTENERS) {
    napi_throw_error(env, "EINVAL", t->closing ? "listen: closed" : "listen: too many listeners on one instance");
    return NULL;
  }
  struct sockaddr_storage ss;
  socklen_t sl = bind_address(env, host, port, SOCK_STREAM, &ss);
  if (!sl) return NULL;
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", host, port, errno);
  int one = 1, v6only = (flags & 2) ? 1 : 0;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one); /* as Node does: restarts don't wait for TIME_WAIT */
  if ((flags & 1) && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) {
    int e = errno; close(fd);
    return throw_errno(env, "setsockopt(SO_REUSEPORT)", host, port, e);
  }
  if (ss.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
  const char *step = "bind";
  if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || (step = "listen", listen(fd, backlog) < 0)) {
    int e = errno; close(fd);
    return throw_errno(env, step, host, port, e);
  }
  int li = t->nlisten;
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = LISTEN_TAG | (uint64_t)li};
  if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
    int e = errno; close(fd);
    return throw_errno(env, "epoll_ctl", host, port, e);
  }
  t->listen_fd[li] = fd;
  t->listen_paused[li] = 0;
  t->nlisten++;
  napi_create_int32(env, li, &out);
  return out;
}

static napi_value js_address(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t li = -1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  tcp_t *t = argc == 2 ? get_tcp(env, argv[0]) : NULL;
  if (t) napi_get_value_int32(env, argv[1], &li);
  return local_address(env, t && !t->closing && li >= 0 && li < t->nlisten ? t->listen_fd[li] : -1);
}

static napi_value js_flush(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], out;
  uint32_t count = 0, nho = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  tcp_t *t = argc == 2 ? get_tcp(env, argv[0]) : NULL;
  if (!t || napi_get_value_uint32(env, argv[1], &count) != napi_ok || count > t->cap) {
    napi_throw_type_error(env, NULL, "flush(handle, count): count exceeds the batch");
    return NULL;
  }
  for (uint32_t k = 0; k < count && !t->closing; k++) answer(t, k, &nho);
  napi_create_uint32(env, nho, &out);
  return out;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
    EXPORT_FN("open", js_open),
    EXPORT_FN("listen", js_listen),
    EXPORT_FN("address", js_address),
    EXPORT_FN("flush", js_flush),
    EXPORT_FN("close", link_js_close),
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
