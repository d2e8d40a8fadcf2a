#!/usr/bin/env bash
# Installs what the test suite needs from Debian's packages, once. In CI (CI=true) a tool that
# can't be installed is a failure, never a skip.
set -euo pipefail
need=()
for pkg in "$@"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "test-setup: missing Debian packages: ${need[*]} (run as root, or install them)" >&2
    exit 1
  fi
fi
