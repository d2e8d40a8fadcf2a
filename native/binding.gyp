# The optional addons (Linux only: scripts/build-native.js doesn't try elsewhere): recvmmsg/
# sendmmsg UDP I/O, epoll TCP I/O for the HTTP tracker, and giving freed arena memory back to the
# kernel. Node-API only, so one build loads in every Node version; swarmd falls back to node:dgram,
# to node:net, and to keeping freed memory for reuse, when they are missing.
{
  "targets": [
    {
      "target_name": "swarmd_udp",
      "sources": ["udp_batch.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-std=gnu11"]
    },
    {
      "target_name": "swarmd_tcp",
      "sources": ["tcp_batch.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-std=gnu11"]
    },
    {
      "target_name": "swarmd_memory",
      "sources": ["release_pages.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-std=gnu11"]
    }
  ]
}
