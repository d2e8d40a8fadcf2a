# The optional recvmmsg/sendmmsg addon (Linux only: scripts/build-native.js doesn't try
# elsewhere). Node-API only, so one build loads in every Node version; swarmd falls back to
# node:dgram when it is missing.
{
  "targets": [
    {
      "target_name": "swarmd_udp",
      "sources": ["udp_batch.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-std=gnu11"]
    }
  ]
}
