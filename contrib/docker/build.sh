#!/bin/sh
# The container image's build stage (Dockerfile: `RUN sh contrib/docker/build.sh /opt/swarmd`),
# kept in a script so that CI runs these very steps on a machine without a container engine
# (test/contrib/docker.test.ts). Run from a source tree, with Node.js 24 and npm on PATH and a
# compiler for the addons (python3, make, g++):
#
#   1. npm ci --ignore-scripts: the dependencies and TypeScript, nothing run (the `node` dev
#      dependency's binary is not needed: the image has Node.js);
#   2. npm pack: prepack builds dist/; the tarball is exactly what the npm registry would get;
#   3. npm install --global of that tarball into PREFIX, production dependencies only; its
#      install script builds the native addons (allowed by name for npm versions that ask).
set -eu
prefix=${1:?usage: build.sh PREFIX}
pack=$(mktemp -d)
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
npm pack --pack-destination "$pack" --loglevel=error >/dev/null
npm install --global --prefix "$prefix" --omit=dev --allow-scripts=swarmd --no-audit --no-fund --loglevel=error "$pack"/swarmd-*.tgz
rm -rf "$pack"
"$prefix/bin/swarmd" --version
