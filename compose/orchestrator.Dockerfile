# mai orchestrator image: mai-supervisor and its three workers.
#
# Build from the repository root (compose.yaml does this):
#   docker build -f compose/orchestrator.Dockerfile -t mai-orchestrator .
# Plain Dockerfile syntax on purpose: no "# syntax=" line (it would pull a
# parser image) and no heredocs (Docker 20.10's builder lacks them).

FROM debian:bookworm-slim AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      gcc libc6-dev make pkg-config binutils \
      libevent-dev libwebsockets-dev libjson-c-dev libcurl4-openssl-dev \
      libseccomp-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The context is the repository root; .dockerignore lets through only the
# sources, the Makefile and flows/ (never .env, .git or build trees).
COPY . .
# The four binaries of the orchestrator (mai-bot has its own image,
# compose/bot.Dockerfile), stripped, and the default call flows next to
# them (FLOWS_FILE's default).
RUN make -j"$(nproc)" BUILD=/out /out/mai-supervisor /out/mai-ws-worker \
      /out/mai-flow-worker /out/mai-health-worker /out/flows.json \
 && mkdir /dist \
 && install -m 0755 -s /out/mai-supervisor /out/mai-ws-worker \
      /out/mai-flow-worker /out/mai-health-worker /dist/ \
 && install -m 0644 /out/flows.json /dist/

FROM debian:bookworm-slim
# Shared libraries only.  curl (about 0.5 MB on top of libcurl4, which the
# workers need anyway) is for the HEALTHCHECK: an HTTP request to /healthz
# is the lightest way to prove the health-worker answers on the port.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libevent-2.1-7 libwebsockets17 libjson-c5 libcurl4 libseccomp2 \
      ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt/* \
      /var/log/dpkg.log \
 && useradd --system --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin mai
# The supervisor finds the workers and flows.json in its own directory
# (/proc/self/exe, so the symlink in PATH works as well).
COPY --from=build /dist/ /usr/lib/mai/
RUN ln -s /usr/lib/mai/mai-supervisor /usr/local/bin/mai-supervisor

# The supervisor starts as root and the workers drop to MAI_USER (see
# compose.yaml for the capabilities this needs).  The ARI settings come
# from the environment; the password as ARI_PASSWORD or ARI_PASSWORD_FILE.
ENV MAI_USER=mai \
    MAI_RUNDIR=/run/mai \
    HTTP_LISTEN=0.0.0.0:18080
EXPOSE 18080
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
  CMD curl -fsS -o /dev/null --max-time 2 http://127.0.0.1:18080/healthz || exit 1
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/lib/mai/mai-supervisor"]
