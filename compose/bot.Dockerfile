# mai-bot image: the voice bot (docs/bot.md), offline by default:
# pocketsphinx (speech to text), the scripted demo dialogue, espeak-ng
# (text to speech).  Point BOT_LLM_URL / BOT_STT_URL / BOT_TTS_URL at
# OpenAI-compatible servers for bigger engines.
#
# Build from the repository root (compose.yaml does this):
#   docker build -f compose/bot.Dockerfile -t mai-bot .
# Plain Dockerfile syntax: no "# syntax=" line, no heredocs (Docker 20.10).

FROM debian:bookworm-slim AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      gcc libc6-dev make pkg-config binutils \
      libevent-dev libwebsockets-dev libjson-c-dev libcurl4-openssl-dev \
      libseccomp-dev libpocketsphinx-dev libsphinxbase-dev \
      libespeak-ng-dev libspeexdsp-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN make -j"$(nproc)" BUILD=/out /out/mai-bot /out/dialogue.json \
 && mkdir /dist \
 && install -m 0755 -s /out/mai-bot /dist/ \
 && install -m 0644 /out/dialogue.json /dist/

FROM debian:bookworm-slim
# The libraries, the en-us acoustic model and espeak-ng's voices; curl is
# for the HEALTHCHECK only.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libevent-2.1-7 libevent-pthreads-2.1-7 libwebsockets17 libjson-c5 \
      libcurl4 libseccomp2 libpocketsphinx3 libsphinxbase3 \
      pocketsphinx-en-us libespeak-ng1 espeak-ng-data libspeexdsp1 \
      ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt/* \
      /var/log/dpkg.log \
 && useradd --system --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin mai-bot
COPY --from=build /dist/ /usr/lib/mai/
RUN ln -s /usr/lib/mai/mai-bot /usr/local/bin/mai-bot

# Started as root only to drop to BOT_USER (no_new_privs, seccomp after).
ENV BOT_USER=mai-bot \
    BOT_DIALOGUE_FILE=/usr/lib/mai/dialogue.json \
    BOT_HTTP_LISTEN=0.0.0.0:18090 \
    BOT_WS_LISTEN=0.0.0.0:18091 \
    BOT_RTP_LISTEN=0.0.0.0:18092
EXPOSE 18090/tcp 18091/tcp 18092/udp
HEALTHCHECK --interval=5s --timeout=3s --start-period=20s --retries=3 \
  CMD curl -fsS -o /dev/null --max-time 2 http://127.0.0.1:18090/readyz || exit 1
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/lib/mai/mai-bot"]
