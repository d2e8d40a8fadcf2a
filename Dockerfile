# swarmd's container image: Node.js 24 on Debian (the official node:24-slim), swarmd installed
# from the package `npm pack` makes, as `npm install --global` would, running as a non-root
# user. See README: "Container image".
#
#   docker build -t swarmd .
#   docker run -p 6969:6969/tcp -p 6969:6969/udp -v swarmd:/var/lib/swarmd swarmd
#
# Configuration: mount a file and name it with SWARMD_CONFIG (or pass switches, which replace
# CMD). The volume holds the state dump and whatever journals the config puts there.

ARG NODE_IMAGE=node:24-slim

FROM ${NODE_IMAGE} AS build
# node-gyp's toolchain for the native addons (recvmmsg/sendmmsg UDP, releasing store memory).
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN sh contrib/docker/build.sh /opt/swarmd

FROM ${NODE_IMAGE}
RUN groupadd --system swarmd \
 && useradd --system --gid swarmd --home-dir /var/lib/swarmd --shell /usr/sbin/nologin swarmd \
 && install -d -o swarmd -g swarmd -m 0750 /var/lib/swarmd
COPY --from=build /opt/swarmd /opt/swarmd
ENV PATH=/opt/swarmd/bin:$PATH \
    NODE_COMPILE_CACHE=/var/lib/swarmd/.compile-cache
USER swarmd
WORKDIR /var/lib/swarmd
VOLUME ["/var/lib/swarmd"]
EXPOSE 6969/tcp 6969/udp
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "/opt/swarmd/lib/node_modules/swarmd/contrib/docker/healthcheck.js"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["swarmd"]
CMD ["--state-file", "/var/lib/swarmd/swarmd.state"]
