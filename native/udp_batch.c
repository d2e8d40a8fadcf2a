/*
 * swarmd_udp: a UDP socket that receives with recvmmsg and sends with sendmmsg, handing
 * JavaScript one batch per system call. It only moves bytes; the protocol lives in TypeScript
 * (src/io/udp-native.ts is its only caller, src/io/udp-batch.ts documents the batch layout).
 *
 * Node-API only (NAPI_VERSION 8) plus libuv's uv_poll, so one build loads in any Node >= 16.
 * Context-aware: every worker thread opens its own sockets on its own event loop.
 *
 * JS API (all arguments are validated by the caller, cheaply re-checked here):
 *   open(host, port, flags, rcvbuf, sndbuf, state) -> handle
 *       flags: 1 = SO_REUSEPORT, 2 = IPV6_V6ONLY. state holds the rx and tx batches'
 *       memory (rxData, rxLengths, rxAddrs, txData, txLengths, txAddrs), a Float64Array of
 *       counters and onBatch(n) -> number of replies to send from the tx batch.
 *   address(handle) -> [family, port, address]
 *   send(handle, data, lengths, addrs, count) -> datagrams sent
 *   close(handle)
 */
#define _GNU_SOURCE
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>
#include <uv.h>

#include <stdlib.h>
#include <unistd.h>

#include "sock_common.h"

#define SLOT_SIZE 2048
/* Batches read per wake-up before yielding, so timers and other sockets get their turn. The
 * poll is level-triggered: whatever is left wakes us again on the next loop iteration. 4 batches
 * (~1.2 ms of work at 64 datagrams each) keep the event-loop delay's p99 near 2.6 ms under full
 * load with no loss of throughput; 16 made it 6.6 ms (bench scale row, 3M peers). */
#define MAX_ROUNDS 4

/* Same order as COUNTERS in udp-native.ts. Doubles: they never wrap. */
enum { C_RECEIVED, C_SENT, C_TRUNCATED, C_SEND_ERRORS, C_BATCHES, C_HANDLER_ERRORS, C_RECV_ERRORS, C_COUNT };

typedef struct {
  js_link_t link;   /* first: the handle points at it; keeps the batches' memory and onBatch alive */
  uv_poll_t poll;
  int fd, family;
  int closing;      /* close() was called: no more reads, sends or callbacks */
  uint32_t cap;
  uint8_t *rx_data, *rx_addrs, *tx_data, *tx_addrs;
  int32_t *rx_len, *tx_len;
  double *counters;
  struct mmsghdr *rx_msgs, *tx_msgs;
  struct iovec *rx_iov, *tx_iov;
  struct sockaddr_storage *rx_names, *tx_names;
} sock_t;

/* The slot -> a sockaddr for this socket's family (family 4 on AF_INET6 becomes v4-mapped).
 * Returns the address length, or 0 when the slot can't be sent from this socket. */
static socklen_t slot_to_addr(int family, const uint8_t *in, struct sockaddr_storage *ss) {
  if (family == AF_INET) {
    if (in[0] != 4) return 0;
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    memcpy(&a->sin_port, in + 2, 2);
    memcpy(&a->sin_addr, in + 4, 4);
    return sizeof *a;
  }
  if (in[0] != 4 && in[0] != 6) return 0;
  struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
  memset(a, 0, sizeof *a);
  a->sin6_family = AF_INET6;
  memcpy(&a->sin6_port, in + 2, 2);
  if (in[0] == 4) {
    a->sin6_addr.s6_addr[10] = 0xff;
    a->sin6_addr.s6_addr[11] = 0xff;
    memcpy(a->sin6_addr.s6_addr + 12, in + 4, 4);
  } else {
    memcpy(a->sin6_addr.s6_addr, in + 4, 16);
  }
  return sizeof *a;
}

/* Sends count datagrams from a batch's memory, s->cap at a time through the tx scratch
 * headers. Never blocks: on a full send buffer the rest is dropped and counted. */
static uint32_t send_batch(sock_t *s, uint8_t *data, const int32_t *len, const uint8_t *addrs, uint32_t count) {
  uint32_t sent = 0;
  for (uint32_t base = 0; base < count; base += s->cap) {
    uint32_t end = count - base < s->cap ? count : base + s->cap, k = 0;
    for (uint32_t i = base; i < end; i++) {
      socklen_t nl;
      if (len[i] < 0 || len[i] > SLOT_SIZE || !(nl = slot_to_addr(s->family, addrs + (size_t)i * ADDR_SIZE, &s->tx_names[k]))) {
        s->counters[C_SEND_ERRORS]++;
        continue;
      }
      s->tx_iov[k].iov_base = data + (size_t)i * SLOT_SIZE;
      s->tx_iov[k].iov_len = (size_t)len[i];
      s->tx_msgs[k].msg_hdr.msg_namelen = nl;
      k++;
    }
    uint32_t off = 0;
    while (off < k) {
      int r = sendmmsg(s->fd, s->tx_msgs + off, k - off, MSG_DONTWAIT);
      if (r > 0) { off += (uint32_t)r; sent += (uint32_t)r; continue; }
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
        s->counters[C_SEND_ERRORS] += k - off;  /* full: drop the rest rather than block */
        off = k;
        break;
      }
      s->counters[C_SEND_ERRORS]++;  /* this datagram failed (bad address, too big...): skip it */
      off++;
    }
    if (off < k) break;
  }
  s->counters[C_SENT] += sent;
  return sent;
}

static void on_readable(uv_poll_t *h, int status, int events) {
  sock_t *s = h->data;
  (void)events;
  if (s->closing) return;
  if (status < 0) { s->counters[C_RECV_ERRORS]++; return; }
  napi_env env = s->link.env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  for (int round = 0; round < MAX_ROUNDS && !s->closing; round++) {
    for (uint32_t i = 0; i < s->cap; i++) s->rx_msgs[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_storage);
    /* MSG_TRUNC: msg_len is the datagram's real length even when it didn't fit its slot. */
    int n = recvmmsg(s->fd, s->rx_msgs, s->cap, MSG_DONTWAIT | MSG_TRUNC, NULL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        int e; socklen_t el = sizeof e;
        getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &e, &el);  /* clear it, or the poll spins */
        s->counters[C_RECV_ERRORS]++;
      }
      break;
    }
    if (n == 0) break;
    for (int i = 0; i < n; i++) {
      s->rx_len[i] = (int32_t)s->rx_msgs[i].msg_len;
      if (s->rx_msgs[i].msg_len > SLOT_SIZE) s->counters[C_TRUNCATED]++;
      addr_to_slot(&s->rx_names[i], s->rx_addrs + (size_t)i * ADDR_SIZE);
    }
    s->counters[C_RECEIVED] += n;
    s->counters[C_BATCHES]++;

    napi_value arg, result;
    uint32_t replies = 0;
    napi_create_uint32(env, (uint32_t)n, &arg);
    if (!link_call(&s->link, "onBatch", 1, &arg, &result)) {
      /* onBatch catches the handler's errors, so this is a bug there or a terminating worker */
      s->counters[C_HANDLER_ERRORS]++;
      break;
    }
    if (napi_get_value_uint32(env, result, &replies) != napi_ok) replies = 0;
    if (s->closing) break;  /* closed by the handler: the fd is gone, drop the replies */
    if (replies > 0) send_batch(s, s->tx_data, s->tx_len, s->tx_addrs, replies < s->cap ? replies : s->cap);
    if ((uint32_t)n < s->cap) break;  /* drained: don't pay for a recvmmsg that returns EAGAIN */
  }
  napi_close_handle_scope(env, scope);
}

static void on_closed(uv_handle_t *h) {
  sock_t *s = h->data;
  link_release(&s->link);
}

static void do_close(void *owner) {
  sock_t *s = owner;
  if (s->closing) return;
  s->closing = 1;
  uv_close((uv_handle_t *)&s->poll, on_closed);
  /* uv_close stops the poll (EPOLL_CTL_DEL) at once, so the port is free when close() returns */
  close(s->fd);
  s->fd = -1;
}

static sock_t *get_sock(napi_env env, napi_value v) { return get_external(env, v); }

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6], handle;
  char host[128];
  int32_t port, flags, rcvbuf, sndbuf;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 6 || napi_get_value_string_utf8(env, argv[0], host, sizeof host, NULL) != napi_ok ||
      napi_get_value_int32(env, argv[1], &port) != napi_ok || napi_get_value_int32(env, argv[2], &flags) != napi_ok ||
      napi_get_value_int32(env, argv[3], &rcvbuf) != napi_ok || napi_get_value_int32(env, argv[4], &sndbuf) != napi_ok ||
      port < 0 || port > 65535) {
    napi_throw_type_error(env, NULL, "open(host, port, flags, rcvbuf, sndbuf, state)");
    return NULL;
  }
  /* Batches: all six arrays must agree on one capacity. */
  uint32_t cap = 0;
  napi_value lv;
  if (napi_get_named_property(env, argv[5], "rxLengths", &lv) == napi_ok) {
    napi_typedarray_type t; size_t len; void *d; napi_value ab; size_t off;
    if (napi_get_typedarray_info(env, lv, &t, &len, &d, &ab, &off) == napi_ok && t == napi_int32_array) cap = (uint32_t)len;
  }
  void *rx_data, *rx_len, *rx_addrs, *tx_data, *tx_len, *tx_addrs, *counters;
  napi_value cb;
  napi_valuetype cbt = napi_undefined;
  if (napi_get_named_property(env, argv[5], "onBatch", &cb) == napi_ok) napi_typeof(env, cb, &cbt);
  if (cap == 0 || cap > 1024 || cbt != napi_function ||
      !get_array(env, argv[5], "rxData", napi_uint8_array, (size_t)cap * SLOT_SIZE, &rx_data, NULL) ||
      !get_array(env, argv[5], "rxLengths", napi_int32_array, (size_t)cap * 4, &rx_len, NULL) ||
      !get_array(env, argv[5], "rxAddrs", napi_uint8_array, (size_t)cap * ADDR_SIZE, &rx_addrs, NULL) ||
      !get_array(env, argv[5], "txData", napi_uint8_array, (size_t)cap * SLOT_SIZE, &tx_data, NULL) ||
      !get_array(env, argv[5], "txLengths", napi_int32_array, (size_t)cap * 4, &tx_len, NULL) ||
      !get_array(env, argv[5], "txAddrs", napi_uint8_array, (size_t)cap * ADDR_SIZE, &tx_addrs, NULL) ||
      !get_array(env, argv[5], "counters", napi_float64_array, C_COUNT * 8, &counters, NULL)) {
    napi_throw_type_error(env, NULL, "open: bad batch state");
    return NULL;
  }

  struct sockaddr_storage ss;
  socklen_t sl = bind_address(env, host, port, SOCK_DGRAM, &ss);
  if (!sl) return NULL;
  int family = ss.ss_family;

  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", host, port, errno);
  int one = 1, v6only = (flags & 2) ? 1 : 0;
  if ((flags & 1) && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) {
    int e = errno; close(fd);
    return throw_errno(env, "setsockopt(SO_REUSEPORT)", host, port, e);
  }
  if (family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
  /* Best effort: the *FORCE variants pass net.core.[rw]mem_max when we may (CAP_NET_ADMIN). */
  if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  if (sndbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf) < 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
    int e = errno; close(fd);
    return throw_errno(env, "bind", host, port, e);
  }

  /* One allocation: the struct, then the rx and tx message headers, iovecs and addresses. */
  size_t per = sizeof(struct mmsghdr) + sizeof(struct iovec) + sizeof(struct sockaddr_storage);
  sock_t *s = calloc(1, sizeof *s + 2 * cap * per);
  if (!s) { close(fd); napi_throw_error(env, "ENOMEM", "open: out of memory"); return NULL; }
  s->fd = fd; s->family = family; s->cap = cap;
  s->rx_data = rx_data; s->rx_len = rx_len; s->rx_addrs = rx_addrs;
  s->tx_data = tx_data; s->tx_len = tx_len; s->tx_addrs = tx_addrs;
  s->counters = counters;
  s->rx_names = (struct sockaddr_storage *)(s + 1);  /* storage first: best alignment */
  s->tx_names = s->rx_names + cap;
  s->rx_msgs = (struct mmsghdr *)(s->tx_names + cap);
  s->tx_msgs = s->rx_msgs + cap;
  s->rx_iov = (struct iovec *)(s->tx_msgs + cap);
  s->tx_iov = s->rx_iov + cap;
  for (uint32_t i = 0; i < cap; i++) {
    /* rx headers point at the JS batch's slots once and for all; that memory never moves */
    s->rx_iov[i].iov_base = s->rx_data + (size_t)i * SLOT_SIZE;
    s->rx_iov[i].iov_len = SLOT_SIZE;
    s->rx_msgs[i].msg_hdr.msg_iov = &s->rx_iov[i];
    s->rx_msgs[i].msg_hdr.msg_iovlen = 1;
    s->rx_msgs[i].msg_hdr.msg_name = &s->rx_names[i];
    s->tx_msgs[i].msg_hdr.msg_iov = &s->tx_iov[i];
    s->tx_msgs[i].msg_hdr.msg_iovlen = 1;
    s->tx_msgs[i].msg_hdr.msg_name = &s->tx_names[i];
  }

  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || uv_poll_init_socket(loop, &s->poll, fd) != 0) {
    close(fd); free(s);
    napi_throw_error(env, NULL, "open: uv_poll_init_socket failed");
    return NULL;
  }
  s->poll.data = s;
  s->link.close_owner = do_close;
  s->link.free_owner = free;
  handle = link_open(env, &s->link, argv[5], "swarmd:udp");
  int r = uv_poll_start(&s->poll, UV_READABLE, on_readable);
  if (r != 0) {
    do_close(s);
    napi_throw_error(env, NULL, uv_strerror(r));
    return NULL;
  }
  return handle;
}

static napi_value js_address(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  sock_t *s = argc ? get_sock(env, argv[0]) : NULL;
  return local_address(env, s && !s->closing ? s->fd : -1);
}

static napi_value js_send(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5], out;
  napi_typedarray_type t1, t2, t3;
  size_t n1, n2, n3, off;
  void *data, *len, *addrs;
  napi_value ab;
  uint32_t count;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  sock_t *s = argc == 5 ? get_sock(env, argv[0]) : NULL;
  if (!s || napi_get_typedarray_info(env, argv[1], &t1, &n1, &data, &ab, &off) != napi_ok ||
      napi_get_typedarray_info(env, argv[2], &t2, &n2, &len, &ab, &off) != napi_ok ||
      napi_get_typedarray_info(env, argv[3], &t3, &n3, &addrs, &ab, &off) != napi_ok ||
      napi_get_value_uint32(env, argv[4], &count) != napi_ok || t1 != napi_uint8_array ||
      t2 != napi_int32_array || t3 != napi_uint8_array || count > n2 ||
      (size_t)count * SLOT_SIZE > n1 || (size_t)count * ADDR_SIZE > n3) {
    napi_throw_type_error(env, NULL, "send(handle, data, lengths, addrs, count): count exceeds the batch");
    return NULL;
  }
  uint32_t sent = s->closing ? 0 : send_batch(s, data, len, addrs, count);
  napi_create_uint32(env, sent, &out);
  return out;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
    EXPORT_FN("open", js_open),
    EXPORT_FN("address", js_address),
    EXPORT_FN("send", js_send),
    EXPORT_FN("close", link_js_close),
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
