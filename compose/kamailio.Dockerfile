# mai's SIP front for several edges: Kamailio (Debian bookworm, 5.6) with
# the dispatcher module (compose/scale/kamailio.cfg).
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      kamailio \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt/* \
      /var/log/dpkg.log
COPY compose/scale/kamailio.cfg compose/scale/dispatcher.list /etc/kamailio/
EXPOSE 5060/udp
# Checks the configuration at build time: a broken file fails the build.
RUN kamailio -c -f /etc/kamailio/kamailio.cfg
STOPSIGNAL SIGTERM
# -DD: foreground, no fork of a daemon; -E: log to stderr.
ENTRYPOINT ["kamailio", "-DD", "-E", "-f", "/etc/kamailio/kamailio.cfg"]
