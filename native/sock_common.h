/*
 * Helpers shared by the socket addons (udp_batch.c, tcp_batch.c): Node-style errors from errno,
 * the 20-byte client address slot both batch layouts use, numeric host parsing, and checked
 * access to the typed arrays JavaScript preallocates. Static functions in a header: each addon
 * is one translation unit, and the compiler drops what a unit doesn't use.
 */
#ifndef SWARMD_SOCK_COMMON_H
#define SWARMD_SOCK_COMMON_H

#include <node_api.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define ADDR_SIZE 20
#define UNUSED __attribute__((unused))

/* "EADDRINUSE" for err.code, as Node's own errors have (strerrorname_np is glibc >= 2.32). */
static UNUSED const char *errno_name(int err) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  return strerrorname_np(err);
#else
  switch (err) {
    case EADDRINUSE: return "EADDRINUSE";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case EACCES: return "EACCES";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EINVAL: return "EINVAL";
    case EMFILE: return "EMFILE";
    case ENOBUFS: return "ENOBUFS";
    case ENOMEM: return "ENOMEM";
    case ENOPROTOOPT: return "ENOPROTOOPT";
    default: return NULL;
  }
#endif
}

static UNUSED napi_value throw_errno(napi_env env, const char *what, const char *host, int port, int err) {
  char msg[256];
  const char *code = errno_name(err);
  snprintf(msg, sizeof msg, "%s %s %s:%d (%s)", what, code ? code : "E?", host, port, strerror(err));
  napi_throw_error(env, code, msg);
  return NULL;
}

/* sockaddr -> the 20-byte slot: [0] family 4 or 6, [1] 0, [2..3] port big-endian, [4..19] the
 * address (IPv4 in 4..7). IPv4-mapped IPv6 addresses come out as family 4. */
static UNUSED void addr_to_slot(const struct sockaddr_storage *ss, uint8_t *out) {
  memset(out, 0, ADDR_SIZE);
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
    out[0] = 4;
    memcpy(out + 2, &a->sin_port, 2);
    memcpy(out + 4, &a->sin_addr, 4);
  } else if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
    memcpy(out + 2, &a->sin6_port, 2);
    if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
      out[0] = 4;
      memcpy(out + 4, a->sin6_addr.s6_addr + 12, 4);
    } else {
      out[0] = 6;
      memcpy(out + 4, a->sin6_addr.s6_addr, 16);
    }
  }
}

/* A numeric host (no DNS here; "%scope" allowed) and a port -> a bindable address. Returns its
 * length, or 0 after throwing. */
static UNUSED socklen_t bind_address(napi_env env, const char *host, int port, int socktype, struct sockaddr_storage *ss) {
  struct addrinfo hints, *ai = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = socktype;
  hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
  if (getaddrinfo(host, NULL, &hints, &ai) != 0 || !ai) {
    napi_throw_error(env, "EINVAL", "open: host must be a numeric IPv4 or IPv6 address");
    return 0;
  }
  socklen_t sl = ai->ai_addrlen;
  memcpy(ss, ai->ai_addr, sl);
  freeaddrinfo(ai);
  if (ss->ss_family == AF_INET) ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
  else ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
  return sl;
}

/* The local address of fd as JavaScript's [family, port, address], or NULL after throwing. */
static UNUSED napi_value local_address(napi_env env, int fd) {
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
    napi_throw_error(env, "EBADF", "address: socket is closed");
    return NULL;
  }
  char text[INET6_ADDRSTRLEN];
  int port;
  if (ss.ss_family == AF_INET) {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
    port = ntohs(a->sin_port);
  } else {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text);
    port = ntohs(a->sin6_port);
  }
  napi_value out, v;
  napi_create_array_with_length(env, 3, &out);
  napi_create_int32(env, ss.ss_family == AF_INET ? 4 : 6, &v);
  napi_set_element(env, out, 0, v);
  napi_create_int32(env, port, &v);
  napi_set_element(env, out, 1, v);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &v);
  napi_set_element(env, out, 2, v);
  return out;
}

/* obj[name] must be a typed array of type `want` holding at least min_bytes: its memory in *out
 * (and its size in bytes in *bytes when not NULL). */
static UNUSED int get_array(napi_env env, napi_value obj, const char *name, napi_typedarray_type want, size_t min_bytes,
                            void **out, size_t *bytes) {
  napi_value v, ab;
  napi_typedarray_type type;
  size_t length, offset;
  void *data;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok) return 0;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, &ab, &offset) != napi_ok) return 0;
  size_t elem = type == napi_int32_array ? 4 : type == napi_float64_array ? 8 : 1;
  if (type != want || length * elem < min_bytes) return 0;
  *out = data;
  if (bytes) *bytes = length * elem;
  return 1;
}

/* The native pointer of a handle made by napi_create_external, or NULL. */
static UNUSED void *get_external(napi_env env, napi_value v) {
  void *p = NULL;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external) return NULL;
  napi_get_value_external(env, v, &p);
  return p;
}

/* An exported function: {"name", fn} as napi_define_properties wants it. */
#define EXPORT_FN(name, fn) {name, NULL, fn, NULL, NULL, NULL, napi_enumerable, NULL}

/*
 * The JavaScript side of an addon object: the state object (its buffers and callback) and the
 * handle JavaScript holds, both kept alive until the object's libuv handles have closed; the
 * async context its callbacks run in; a cleanup hook closing the object when its environment (a
 * worker thread, or the main thread at exit) goes away, or libuv would find an open handle on a
 * closing loop. The owner is freed when its handles closed (link_release) and the JavaScript
 * handle was collected, whichever comes last. The link must be the owner's first member: the
 * handle points at it.
 */
typedef struct {
  napi_env env;
  napi_ref state_ref, self_ref;
  napi_async_context actx;
  napi_async_cleanup_hook_handle cleanup;
  int released, finalized;
  void (*close_owner)(void *owner); /* starts closing (idempotent); ends in link_release */
  void (*free_owner)(void *owner);
} js_link_t;

static UNUSED void link_on_finalize(napi_env env, void *data, void *hint) {
  js_link_t *l = data;
  (void)env; (void)hint;
  l->finalized = 1;
  if (l->released) l->free_owner(l);
}

static UNUSED void link_on_env_cleanup(napi_async_cleanup_hook_handle handle, void *arg) {
  js_link_t *l = arg;
  (void)handle;
  l->close_owner(l); /* link_release removes the hook, which lets the teardown continue */
}

/* Links the owner (whose first member is l) to the state object; returns the handle for JavaScript. */
static UNUSED napi_value link_open(napi_env env, js_link_t *l, napi_value state, const char *name) {
  napi_value handle, text;
  l->env = env;
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &text);
  napi_async_init(env, state, text, &l->actx);
  napi_create_reference(env, state, 1, &l->state_ref);
  napi_create_external(env, l, link_on_finalize, NULL, &handle);
  napi_create_reference(env, handle, 1, &l->self_ref);
  napi_add_async_cleanup_hook(env, link_on_env_cleanup, l, &l->cleanup);
  return handle;
}

/* After the owner's last libuv handle closed. */
static UNUSED void link_release(js_link_t *l) {
  napi_env env = l->env;
  if (l->cleanup) napi_remove_async_cleanup_hook(l->cleanup);
  l->cleanup = NULL;
  napi_async_destroy(env, l->actx);
  napi_delete_reference(env, l->state_ref);
  l->released = 1;
  napi_ref self = l->self_ref;
  napi_delete_reference(env, self); /* may finalize the handle, which may free the owner: last */
}

/* state[name](...argv) in the link's async context (microtasks and nextTicks run after it).
 * 0 when it threw: the exception is cleared, the caller counts it. */
static UNUSED int link_call(js_link_t *l, const char *name, size_t argc, const napi_value *argv, napi_value *result) {
  napi_value state, cb, ignored;
  napi_get_reference_value(l->env, l->state_ref, &state);
  napi_get_named_property(l->env, state, name, &cb);
  if (napi_make_callback(l->env, l->actx, state, cb, argc, argv, result ? result : &ignored) == napi_ok) return 1;
  napi_value ex;
  napi_get_and_clear_last_exception(l->env, &ex);
  return 0;
}

/* close(handle), for every addon. */
static UNUSED napi_value link_js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  js_link_t *l = argc ? get_external(env, argv[0]) : NULL;
  if (l) l->close_owner(l);
  return NULL;
}

#endif
