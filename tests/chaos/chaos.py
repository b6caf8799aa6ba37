#!/usr/bin/env python3
"""chaos.py — calls arriving steadily on a real Asterisk 22 while mai's
workers are killed with -9 in turn; run by tests/chaos/run.sh (`make chaos`),
which holds the e2e lock and starts and stops Asterisk.

Calls: CHAOS_RATE a second (default 10) for CHAOS_SECONDS (60), each a
call file (Local/43720270346@incoming, Application Echo) moved into
Asterisk's spool, which originates it at once; its ;2 half enters
Stasis(mai) and runs bench/flow-short.json (answer, play, hang up).
Kills: every CHAOS_KILL_EVERY seconds (3) the next of ws-, flow- and
health-worker gets SIGKILL, for the whole run.  Then CHAOS_SETTLE (30)
seconds of quiet, and the figures:

  placed      call files handed to Asterisk
  answered    calls mai started (distinct channel ids in "call started")
  refused     Stasis(mai) failed: no WebSocket held the app (Asterisk's
              messages.log: "Stasis app 'mai' not active/registered"),
              and how many of those fell inside a ws-worker gap (+-1 s:
              Asterisk's log has whole seconds)
  left        channels still up CHAOS_SETTLE s after the last call
  events      relayed / acked / dropped by the supervisor (/metrics)
  gaps        per ws-worker kill: kill -> "ARI WebSocket connected"

It prints figures and asserts nothing on speed; the exit code is 1 when
channels are left or events were dropped (the targets that do not depend
on the restart policy), else 0.
"""
import datetime
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

SRC = os.environ["MAI_SRC"]
BUILD = os.environ.get("BUILD", os.path.join(SRC, "build"))
ASTERISK = os.path.join(SRC, "tests/e2e/asterisk.sh")
RATE = float(os.environ.get("CHAOS_RATE", "10"))
SECONDS = float(os.environ.get("CHAOS_SECONDS", "60"))
KILL_EVERY = float(os.environ.get("CHAOS_KILL_EVERY", "3"))
SETTLE = float(os.environ.get("CHAOS_SETTLE", "30"))
HTTP_PORT = int(os.environ.get("CHAOS_HTTP_PORT", "18480"))
WORKERS = ["ws-worker", "flow-worker", "health-worker"]


def sh(*args):
    return subprocess.run(args, capture_output=True, text=True).stdout


def asterisk(cmd):
    return sh(ASTERISK, "cli", cmd)


def channels_up():
    m = re.search(r"(\d+) active channel", asterisk("core show channels count"))
    return int(m.group(1)) if m else -1


def log_ts(line):
    """Epoch seconds of a mai log line (UTC, ms)."""
    t = line.split(" ", 1)[0]
    return datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


class Spool:
    """Call files, written beside the spool and moved in (pbx_spool)."""

    def __init__(self, root):
        self.root = root
        self.out = os.path.join(root, "var/spool/asterisk/outgoing")
        self.tmp = os.path.join(root, "var/spool/asterisk/chaos")
        os.makedirs(self.tmp, exist_ok=True)
        ids = sh("chroot", root, "id", "-u", "asterisk").split() + \
            sh("chroot", root, "id", "-g", "asterisk").split()
        self.uid, self.gid = int(ids[0]), int(ids[1])
        self.n = 0

    def place(self):
        self.n += 1
        path = os.path.join(self.tmp, "c%d.call" % self.n)
        with open(path, "w") as f:
            f.write("Channel: Local/43720270346@incoming\n"
                    "Application: Echo\nMaxRetries: 0\n")
        os.chown(path, self.uid, self.gid)
        os.rename(path, os.path.join(self.out, "c%d.call" % self.n))


def start_mai(tmp):
    env = dict(os.environ, ARI_HOST="127.0.0.1", ARI_PORT="8088",
               ARI_USER="mai", ARI_PASSWORD="mvoice8908!#",
               HTTP_LISTEN="127.0.0.1:%d" % HTTP_PORT,
               FLOWS_FILE=os.path.join(SRC, "bench/flow-short.json"),
               MAI_RUNDIR=os.path.join(tmp, "run"), LOG_LEVEL="info",
               MAI_USER="nobody" if os.getuid() == 0 else "")
    log = open(os.path.join(tmp, "mai.log"), "w")
    p = subprocess.Popen([os.path.join(BUILD, "mai-supervisor")], env=env,
                         stdout=log, stderr=log)
    for _ in range(300):
        try:
            if urllib.request.urlopen("http://127.0.0.1:%d/readyz" %
                                      HTTP_PORT, timeout=1).status == 200:
                return p
        except Exception:
            pass
        time.sleep(0.1)
    sys.exit("chaos: mai never became ready; see %s/mai.log" % tmp)


def worker_pid(tmp, name):
    try:
        with open(os.path.join(tmp, "run", name + ".pid")) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def run(tmp, spool):
    kills = []
    t0 = time.time()
    next_call, next_kill, k = t0, t0 + KILL_EVERY, 0
    while time.time() < t0 + SECONDS:
        now = time.time()
        if now >= next_call:
            spool.place()
            next_call += 1.0 / RATE
        if now >= next_kill:
            name = WORKERS[k % len(WORKERS)]
            pid = worker_pid(tmp, name)
            if pid > 0:
                try:
                    os.kill(pid, signal.SIGKILL)
                    kills.append((name, time.time()))
                except ProcessLookupError:
                    kills.append((name + " (not running)", time.time()))
            k += 1
            next_kill += KILL_EVERY
        time.sleep(max(0.0, min(next_call, next_kill) - time.time()))
    return kills


REFUSED = re.compile(r"^\[(\w+ +\d+ [\d:]+)\].*Stasis app '[^']*' not "
                     r"(active|registered)")


def refusals(messages, since):
    """Epoch seconds of each refused call logged after since (UTC log)."""
    out = []
    year = datetime.datetime.utcnow().year
    with open(messages, errors="replace") as f:
        for line in f:
            m = REFUSED.match(line)
            if not m:
                continue
            t = datetime.datetime.strptime("%d %s" % (year, m.group(1)),
                                           "%Y %b %d %H:%M:%S").replace(
                tzinfo=datetime.timezone.utc).timestamp()
            if t >= since - 1:
                out.append(t)
    return out


def gap_windows(tmp, kills):
    """(kill, WebSocket up) of each ws-worker kill, up None if never."""
    ups = []
    with open(os.path.join(tmp, "mai.log")) as f:
        for line in f:
            if "proc=ws-worker" in line and "ARI WebSocket connected" in line:
                ups.append(log_ts(line))
    out = []
    for name, t in kills:
        if name == "ws-worker":
            later = [u for u in ups if u > t]
            out.append((t, later[0] if later else None))
    return out


def gaps(tmp, kills):
    ups = []
    with open(os.path.join(tmp, "mai.log")) as f:
        for line in f:
            if "proc=ws-worker" in line and "ARI WebSocket connected" in line:
                ups.append(log_ts(line))
    out = []
    for name, t in kills:
        if name != "ws-worker":
            continue
        later = [u for u in ups if u > t]
        out.append((later[0] - t) * 1000 if later else None)
    return out


def metric(name):
    try:
        body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" %
                                      HTTP_PORT, timeout=2).read().decode()
    except Exception:
        return -1
    m = re.search(r"^%s(?:\{[^}]*\})? (\d+)" % re.escape(name), body, re.M)
    return int(m.group(1)) if m else -1


def main():
    tmp = sys.argv[1]
    root = sh(ASTERISK, "root").strip()
    messages = os.path.join(root, "var/log/asterisk/messages.log")
    spool = Spool(root)
    t_start = time.time()
    sup = start_mai(tmp)
    kills = run(tmp, spool)
    time.sleep(SETTLE)
    left = channels_up()
    refused = refusals(messages, t_start) if os.path.exists(messages) else []
    windows = gap_windows(tmp, kills)
    in_gap = [t for t in refused if any(
        k - 1 <= t <= (u if u is not None else time.time()) + 1
        for k, u in windows)]
    answered = set()
    with open(os.path.join(tmp, "mai.log")) as f:
        for line in f:
            m = re.search(r"call started id=(\S+)", line)
            if m:
                answered.add(m.group(1))
    ev = {n: metric("mai_events_" + n) for n in
          ("relayed_total", "acked_total", "dropped_total", "queued")}
    g = gaps(tmp, kills)
    sup.send_signal(signal.SIGTERM)
    sup.wait(timeout=30)

    print("chaos: %.0f s, %.0f calls/s, a worker killed (-9) every %.0f s "
          "(%d kills), then %.0f s quiet" % (SECONDS, RATE, KILL_EVERY,
                                             len(kills), SETTLE))
    print("  calls placed:      %d" % spool.n)
    print("  calls answered:    %d (started by mai)" % len(answered))
    print("  refused (no WebSocket held the app): %d, inside a ws-worker "
          "gap: %d, outside: %d" % (len(refused), len(in_gap),
                                    len(refused) - len(in_gap)))
    print("  channels left after %.0f s: %d" % (SETTLE, left))
    print("  events relayed=%d acked=%d dropped=%d queued=%d" % (
        ev["relayed_total"], ev["acked_total"], ev["dropped_total"],
        ev["queued"]))
    for i, ms in enumerate(g):
        print("  ws-worker gap %d: %s" % (i + 1, "%.0f ms" % ms
                                          if ms is not None else "never up"))
    known = [x for x in g if x is not None]
    if known:
        print("  ws-worker gaps: n=%d min=%.0f ms max=%.0f ms" % (
            len(known), min(known), max(known)))
    print("  mai log: %s/mai.log" % tmp)
    return 1 if left != 0 or ev["dropped_total"] != 0 else 0


if __name__ == "__main__":
    sys.exit(main())
