# mai edge image: Asterisk 22 (Debian sid) with ../asterisk-conf/.
#
# Build from the repository root (compose.yaml does this):
#   docker build -f compose/edge.Dockerfile -t mai-edge .
# Bookworm has no asterisk package; sid has 22.x.

FROM debian:sid-slim
# curl is for the HEALTHCHECK only.
# (sid's package lacks the recording directory that ARI's record needs.)
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      asterisk asterisk-modules asterisk-core-sounds-en-wav curl \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt/* \
      /var/log/dpkg.log \
 && install -d -o asterisk -g asterisk -m 0755 /run/asterisk \
 && install -d -o asterisk -g asterisk -m 0750 /var/spool/asterisk/recording
# The project's files over Debian's defaults (logger.conf and the rest stay).
# ari.conf holds the ARI password: readable by Asterisk, not by everyone.
COPY --chown=root:asterisk asterisk-conf/ /etc/asterisk/
RUN chmod 0640 /etc/asterisk/ari.conf

# SIP, ARI (HTTP and the events WebSocket), RTP (asterisk-conf/rtp.conf).
EXPOSE 5060/udp 8088/tcp 10000-10099/udp
# Proves ARI is up without a secret in the image's metadata: once Asterisk
# has fully booted, an ARI request without credentials gets 401 (before
# that: 503 "Asterisk not booted"; without res_ari or HTTP: 404 or nothing).
HEALTHCHECK --interval=5s --timeout=5s --start-period=20s --retries=3 \
  CMD asterisk -rx 'core waitfullybooted' >/dev/null \
   && [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
        http://127.0.0.1:8088/ari/asterisk/info)" = 401 ] || exit 1
STOPSIGNAL SIGTERM
# -f: foreground (no console), -n: no colours in the log, -U/-G: drop root.
ENTRYPOINT ["/usr/sbin/asterisk", "-f", "-n", "-U", "asterisk", "-G", "asterisk"]
