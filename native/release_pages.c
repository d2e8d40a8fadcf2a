// Gives the memory of a freed block of the swarm store's arena back to the kernel. The arena is
// one SharedArrayBuffer that only grows (JavaScript can't unmap part of it), and when tables
// double as swarms fill up, the blocks they leave behind would otherwise stay resident for good.
// madvise(MADV_DONTNEED) drops those pages; the next touch gets zero-filled ones. Optional, like
// the UDP addon: without it freed blocks are only reused, never returned.

#include <node_api.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

// release(view: Uint8Array) -> bytes released: the whole pages inside the view.
static napi_value js_release(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_typedarray_type type;
  size_t length, offset;
  void *data;
  napi_value buffer, result;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_typedarray_info(env, argv[0], &type, &length, &data, &buffer, &offset) != napi_ok ||
      type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, "release() takes a Uint8Array");
    return NULL;
  }
  uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  uintptr_t start = ((uintptr_t)data + page - 1) & ~(page - 1);
  uintptr_t end = ((uintptr_t)data + length) & ~(page - 1);
  double released = 0;
  if (end > start && madvise((void *)start, end - start, MADV_DONTNEED) == 0) released = (double)(end - start);
  napi_create_double(env, released, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "release", NAPI_AUTO_LENGTH, js_release, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "release", fn) != napi_ok) return NULL;
  return exports;
}
