#!/usr/bin/env bash
# Installs what `npm run bench` needs, idempotently (a second run changes nothing):
#  - Debian's opentracker (the C reference; a whitelist build, IPv4 only) and wrk (HTTP load)
#  - npm's bittorrent-tracker into bench/.peers (git-ignored; never vendored)
#  - taskset (util-linux) for pinning
# Run as root (or with sudo available) on Debian. Needs nothing but Debian's and npm's
# package registries.
set -euo pipefail
cd "$(dirname "$0")"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "bench/setup.sh: needs root (or sudo) to apt-get install opentracker wrk" >&2
  fi
fi

need=()
command -v opentracker >/dev/null || [ -x /usr/bin/opentracker ] || need+=(opentracker)
command -v wrk >/dev/null || need+=(wrk)
command -v taskset >/dev/null || need+=(util-linux)
command -v cc >/dev/null || need+=(gcc) # only for the optional udpload cross-check
if [ ${#need[@]} -gt 0 ]; then
  echo "bench/setup.sh: apt-get install ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # Debian's opentracker package starts a service on port 6969 of every address; the bench
  # binds loopback only, so keep package scripts from starting services during this install
  # (policy-rc.d exit 101 = "not allowed", Debian's standard switch), unless one is set already.
  if [ ! -e /usr/sbin/policy-rc.d ] && [ -w /usr/sbin ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  if ! $SUDO apt-get install -y --no-install-recommends "${need[@]}" >&2; then
    # the package lists may be missing or stale on a fresh machine
    $SUDO apt-get update >&2
    $SUDO apt-get install -y --no-install-recommends "${need[@]}" >&2
  fi
fi
# Debian's package enables an opentracker service (port 6969 on every address). The bench
# runs its own instances on loopback: stop and disable the packaged one so it neither binds
# other addresses nor takes CPU during the measurements. Nothing to do where there is no systemd.
if command -v systemctl >/dev/null && systemctl is-enabled --quiet opentracker 2>/dev/null; then
  $SUDO systemctl disable --now opentracker >/dev/null 2>&1 || true
fi

# bittorrent-tracker (the Node.js peer), pinned to a version so runs compare; in a
# git-ignored prefix with its own package.json so it never touches the project's.
BT_VERSION="${BT_VERSION:-11.2.3}"
have=""
if [ -f .peers/node_modules/bittorrent-tracker/package.json ]; then
  have="$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' .peers/node_modules/bittorrent-tracker/package.json | head -1)"
fi
if [ "$have" != "$BT_VERSION" ]; then
  mkdir -p .peers
  [ -f .peers/package.json ] || echo '{ "name": "swarmd-bench-peers", "private": true }' > .peers/package.json
  echo "bench/setup.sh: npm install bittorrent-tracker@$BT_VERSION into bench/.peers" >&2
  # --ignore-scripts: its server needs no native build, and the WebRTC client dependencies
  # (node-datachannel) would try to download prebuilt binaries, which cannot be fetched here.
  npm install --prefix .peers --no-audit --no-fund --omit=dev --ignore-scripts "bittorrent-tracker@$BT_VERSION" >&2
fi

# The native UDP addon (src/io/udp-socket.ts uses it when built; the bench reports which path
# swarmd used). `npm install` builds it; here only say whether it is there.
if ! ls ../native/build/Release/*.node >/dev/null 2>&1; then
  echo "bench/setup.sh: note: native/build has no addon (run npm install); swarmd will use dgram" >&2
fi
echo "bench/setup.sh: ok (opentracker $(dpkg-query -W -f='${Version}' opentracker 2>/dev/null || echo '?'), wrk $(dpkg-query -W -f='${Version}' wrk 2>/dev/null || echo '?'), bittorrent-tracker $BT_VERSION)" >&2
