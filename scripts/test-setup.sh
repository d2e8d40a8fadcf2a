#!/usr/bin/env bash
# Installs what the tests need beyond node_modules, from Debian's archive: chromium, which the
# browser tests drive through playwright-core; python3-prometheus-client, the Prometheus
# text-format parser that checks /metrics; nats-server, for the cluster tests; and the real
# BitTorrent clients of the end-to-end tests (libtorrent-rasterbar's Python binding, aria2,
# Transmission, mktorrent); promtool (Debian's prometheus package), which checks /metrics and
# contrib/prometheus/alerts.yml; python3-yaml, which reads compose.yaml; and systemd-analyze (systemd), which verifies
# contrib/swarmd.service. Idempotent: does nothing when all are there; runs `apt-get update`
# only when the package lists can't supply them.
# No browser is ever downloaded from anywhere but Debian's archive (playwright-core never
# downloads one by itself).
#
# Outside CI a failure to install is a warning and the browser test skips itself, saying why.
# In CI (CI=true) it is an error: the test run fails.

set -u

CHROMIUM=/usr/bin/chromium
PYTHON=/usr/bin/python3 # Debian's, where apt installs modules (not a pyenv or venv one earlier on PATH)
PACKAGES=()
have_chromium() { [ -x "$CHROMIUM" ]; }
have_parser() { [ -x "$PYTHON" ] && "$PYTHON" -c 'import prometheus_client.parser' >/dev/null 2>&1; }
have_libtorrent() { [ -x "$PYTHON" ] && "$PYTHON" -c 'import libtorrent' >/dev/null 2>&1; }
have_yaml() { [ -x "$PYTHON" ] && "$PYTHON" -c 'import yaml' >/dev/null 2>&1; }
have() { command -v "$1" >/dev/null 2>&1; }
have_chromium || PACKAGES+=(chromium fonts-dejavu-core)
have_parser || PACKAGES+=(python3 python3-prometheus-client)
have_libtorrent || PACKAGES+=(python3 python3-libtorrent)
have_yaml || PACKAGES+=(python3 python3-yaml)
have nats-server || PACKAGES+=(nats-server)
have aria2c || PACKAGES+=(aria2)
have transmission-daemon || PACKAGES+=(transmission-daemon)
have transmission-create || PACKAGES+=(transmission-cli)
have mktorrent || PACKAGES+=(mktorrent)
have openssl || PACKAGES+=(openssl) # self-signed certificates for the TLS tests
have promtool || PACKAGES+=(prometheus)
have systemd-analyze || PACKAGES+=(systemd)

# Transmission 3.00 cannot parse a tracker URL with an IPv6 literal ([::1]), so its IPv6 tests
# name the tracker ip6-localhost, which Debian's /etc/hosts maps to ::1; some container images
# leave that line out: add it back.
if ! getent ahostsv6 ip6-localhost 2>/dev/null | grep -q '^::1 '; then
  if [ -w /etc/hosts ]; then
    echo '::1 ip6-localhost ip6-loopback' >>/etc/hosts
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    echo '::1 ip6-localhost ip6-loopback' | sudo -n tee -a /etc/hosts >/dev/null
  else
    echo "test-setup: ip6-localhost does not resolve to ::1 and /etc/hosts is not writable" >&2
    [ "${CI:-}" = "true" ] && exit 1
  fi
fi

if [ ${#PACKAGES[@]} -eq 0 ]; then
  exit 0
fi

fail() {
  echo "test-setup: $*" >&2
  if [ "${CI:-}" = "true" ]; then
    echo "test-setup: CI=true: the tests need ${PACKAGES[*]}, failing the test run" >&2
    exit 1
  fi
  echo "test-setup: the tests that need ${PACKAGES[*]} will be skipped" >&2
  exit 0
}

if ! command -v apt-get >/dev/null 2>&1; then
  fail "no apt-get on this machine: install ${PACKAGES[*]} by hand"
fi

SUDO=()
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
  else
    fail "not root and no password-less sudo: run 'apt-get install ${PACKAGES[*]}' as root"
  fi
fi

export DEBIAN_FRONTEND=noninteractive
install() {
  "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${PACKAGES[@]}" </dev/null
}

# The package lists may be missing or stale (an archive that dropped the version they name):
# update them only then, and try once more.
for p in "${PACKAGES[@]}"; do
  candidate=$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ { print $2 }')
  if [ -z "$candidate" ] || [ "$candidate" = "(none)" ]; then
    echo "test-setup: apt has no candidate for $p: apt-get update" >&2
    "${SUDO[@]}" apt-get update -q </dev/null || fail "apt-get update failed"
    break
  fi
done
echo "test-setup: installing ${PACKAGES[*]} with apt-get" >&2
if ! install; then
  echo "test-setup: install failed: apt-get update, then once more" >&2
  "${SUDO[@]}" apt-get update -q </dev/null || fail "apt-get update failed"
  install || fail "apt-get install ${PACKAGES[*]} failed"
fi

have_chromium || fail "$CHROMIUM is still missing after the install"
have_parser || fail "$PYTHON's prometheus_client is still missing after the install"
have_libtorrent || fail "$PYTHON's libtorrent is still missing after the install"
have_yaml || fail "$PYTHON's yaml is still missing after the install"
for tool in nats-server aria2c transmission-daemon transmission-create mktorrent promtool systemd-analyze; do
  have "$tool" || fail "$tool is still missing after the install"
done
exit 0
