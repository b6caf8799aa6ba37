#!/usr/bin/env python3
"""probe.py — what Asterisk 22.10.1 does with StasisBroadcast(), POST
/events/claim and channels whose application has gone.  docs/scaling.md
quotes its output.  Python's standard library only (no websocket module in
bookworm's base): a minimal RFC 6455 client, text frames, no fragments.

  probe.py [--ari http://127.0.0.1:8088]

Needs the [scale] context of tests/scale/extensions_scale.conf on the
Asterisk it talks to.  Prints one line per finding."""
import argparse, base64, json, os, socket, struct, time
import urllib.request, urllib.error

USER, PASS = "mai", "mvoice8908!#"


class WS:
    def __init__(self, host, port, app):
        self.app = app
        self.s = socket.create_connection((host, port))
        key = base64.b64encode(os.urandom(16)).decode()
        auth = base64.b64encode(f"{USER}:{PASS}".encode()).decode()
        self.s.sendall((f"GET /ari/events?app={app}&subscribeAll=false HTTP/1.1\r\n"
                        f"Host: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                        f"Authorization: Basic {auth}\r\n\r\n").encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += self.s.recv(4096)
        head, self.buf = buf.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise RuntimeError(head.decode())
        self.events = []

    def _frame(self, timeout):
        self.s.settimeout(timeout)
        while True:
            if len(self.buf) >= 2:
                n = self.buf[1] & 0x7F
                off = 2
                if n == 126:
                    n, off = struct.unpack(">H", self.buf[2:4])[0], 4
                elif n == 127:
                    n, off = struct.unpack(">Q", self.buf[2:10])[0], 10
                if len(self.buf) >= off + n:
                    op, data = self.buf[0] & 0x0F, self.buf[off:off + n]
                    self.buf = self.buf[off + n:]
                    return op, data
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk

    def pump(self, seconds):
        """Collect events for up to `seconds`."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            try:
                op, data = self._frame(left)
            except socket.timeout:
                break
            if op == 1:
                ev = json.loads(data)
                ev["_t"] = time.monotonic()
                self.events.append(ev)
        return self.events

    def wait(self, etype, seconds=5, chan=None):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            for ev in self.events:
                if ev["type"] == etype and (chan is None or
                                            ev.get("channel", {}).get("id") == chan):
                    return ev
            self.pump(0.05)
        return None

    def types(self):
        return [e["type"] for e in self.events]

    def close(self):
        self.s.close()


class ARI:
    def __init__(self, base):
        self.base = base.rstrip("/") + "/ari/"
        tok = base64.b64encode(f"{USER}:{PASS}".encode()).decode()
        self.h = {"Authorization": "Basic " + tok}

    def req(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        h = dict(self.h)
        if data:
            h["Content-Type"] = "application/json"
        r = urllib.request.Request(self.base + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(r, timeout=5) as resp:
                txt = resp.read().decode()
                return resp.status, (json.loads(txt) if txt else None)
        except urllib.error.HTTPError as e:
            txt = e.read().decode()
            try:
                return e.code, json.loads(txt)
            except ValueError:
                return e.code, txt


def say(*a):
    print("probe:", *a, flush=True)


SEQ = [0]


def originate(ari, exten):
    """A Local channel into [scale] exten; the ;2 half (its id returned)
    runs the dialplan."""
    SEQ[0] += 1
    cid = f"probe{os.getpid()}x{SEQ[0]}"
    ari.req("POST", f"channels?endpoint=Local/{exten}@scale&app=probe-origin"
            f"&timeout=30&channelId=origin{cid}&otherChannelId={cid}")
    return cid


def connect():
    """--ari URL: the REST client, host and port for WebSockets."""
    p = argparse.ArgumentParser()
    p.add_argument("--ari", default="http://127.0.0.1:8088")
    o = p.parse_args()
    host, port = o.ari.split("//")[1].split(":")
    return ARI(o.ari), host, int(port)


def main():
    ari, host, port = connect()

    origin = WS(host, port, "probe-origin")   # owns the ;1 halves
    a, b = WS(host, port, "mai-a"), WS(host, port, "mai-b")
    other = WS(host, port, "other")

    # 1. Both matching apps get CallBroadcast; first claim 204, second 409.
    t0 = time.monotonic()
    cid = originate(ari, "bc")
    ea, eb = a.wait("CallBroadcast", chan=cid), b.wait("CallBroadcast", chan=cid)
    other.pump(0.3)
    say("1 broadcast: mai-a got", bool(ea), "mai-b got", bool(eb),
        "app 'other' (filter ^mai-) got", "CallBroadcast" in other.types())
    say("1 CallBroadcast keys:", sorted(k for k in ea if not k.startswith("_")),
        "channel.state:", ea["channel"]["state"], "dialplan:", ea["channel"].get("dialplan"))
    say("1 delay originate->CallBroadcast ms:", round((ea["_t"] - t0) * 1000, 1))
    st1, _ = ari.req("POST", f"events/claim?channelId={cid}&application=mai-a")
    st2, body2 = ari.req("POST", f"events/claim?channelId={cid}&application=mai-b")
    st3, _ = ari.req("POST", f"events/claim?channelId={cid}&application=mai-a")
    say("1 claim mai-a:", st1, "claim mai-b:", st2, body2, "claim mai-a again:", st3)
    ss = a.wait("StasisStart", chan=cid)
    b.pump(0.3)
    say("1 StasisStart on mai-a:", bool(ss), "args:", ss and ss.get("args"),
        "mai-b events:", [t for t in b.types() if t != "CallBroadcast"])
    say("1 CallClaimed without notify_claimed: a", "CallClaimed" in a.types(),
        "b", "CallClaimed" in b.types())
    # The call's state on the channel, as mai keeps it.
    ari.req("POST", f"channels/{cid}/variable", {"variable": "MAI_STATE", "value": "menu:3"})
    ari.req("POST", f"channels/{cid}/answer")

    # 2. The owner's WebSocket goes: what may another app do with its call?
    a.close()
    time.sleep(0.5)
    say("2 after mai-a closed: GET applications/mai-a:", ari.req("GET", "applications/mai-a")[0])
    st, ch = ari.req("GET", f"channels/{cid}")
    say("2 channel still there:", st, "dialplan:", ch.get("dialplan") if st == 200 else ch)
    say("2 MAI_STATE read:", ari.req("GET", f"channels/{cid}/variable?variable=MAI_STATE"))
    say("2 answer:", ari.req("POST", f"channels/{cid}/answer")[0])
    say("2 subscribe mai-b:", ari.req("POST", f"applications/mai-b/subscription?eventSource=channel:{cid}")[0])
    st, pb = ari.req("POST", f"channels/{cid}/play?media=sound:tt-monkeys")
    say("2 play:", st, "PlaybackStarted on mai-b:", bool(b.wait("PlaybackStarted", seconds=2)))
    t0 = time.monotonic()
    stm, _ = ari.req("POST", f"channels/{cid}/move?app=mai-b&appArgs=adopted")
    ssb = b.wait("StasisStart", chan=cid, seconds=2)
    say("2 move to mai-b during a playback:", stm, "StasisStart on mai-b within 2 s:", bool(ssb))
    ari.req("DELETE", f"playbacks/{pb['id']}")
    ssb = b.wait("StasisStart", chan=cid, seconds=5)
    say("2 after stopping the playback: StasisStart on mai-b:", bool(ssb),
        "args:", ssb and ssb.get("args"), "ms since move:", ssb and round((ssb["_t"] - t0) * 1000))
    say("2 MAI_STATE after move:", ari.req("GET", f"channels/{cid}/variable?variable=MAI_STATE"))
    say("2 after move GET applications/mai-a:", ari.req("GET", "applications/mai-a")[0])
    a2 = WS(host, port, "mai-a")
    a2.pump(0.5)
    say("2 mai-a reconnected got:", a2.types())
    say("2 hangup by mai-b:", ari.req("DELETE", f"channels/{cid}")[0])
    b.wait("StasisEnd", chan=cid)
    a2.close()
    time.sleep(0.5)
    say("2 mai-a closed, no channels: GET applications/mai-a:", ari.req("GET", "applications/mai-a")[0])

    # 2b. Owner gone, nobody moves it: the channel stays; a move to an app
    # with no WebSocket?
    a3 = WS(host, port, "mai-a")
    cid = originate(ari, "bc")
    ev = a3.wait("CallBroadcast", chan=cid)
    ari.req("POST", f"events/claim?channelId={cid}&application=mai-a")
    a3.wait("StasisStart", chan=cid)
    a3.close()
    time.sleep(3)
    say("2b owner gone 3 s: channel", ari.req("GET", f"channels/{cid}")[0])
    say("2b move to unregistered app 'ghost':", ari.req("POST", f"channels/{cid}/move?app=ghost"))
    time.sleep(0.5)
    st, ch = ari.req("GET", f"channels/{cid}")
    say("2b channel after that:", st, ch.get("dialplan") if st == 200 else "")
    ari.req("DELETE", f"channels/{cid}")

    # 3. Nobody claims: the dialplan goes on after the timeout.
    b.events.clear()
    t0 = time.monotonic()
    cid = originate(ari, "bcshort")
    ev = b.wait("CallBroadcast", chan=cid)
    end = time.monotonic() + 5
    while time.monotonic() < end:
        st, _ = ari.req("GET", f"channels/{cid}")
        if st == 404:
            break
        time.sleep(0.02)
    say("3 nobody claims, timeout 300 ms: channel gone after ms:",
        round((time.monotonic() - t0) * 1000), "(dialplan: NoOp, Hangup)")
    st, body = ari.req("POST", f"events/claim?channelId={cid}&application=mai-b")
    say("3 claim after timeout:", st, body)

    # 4. App filter ^mai-b$: only mai-b is told; can a non-matching app claim?
    a4 = WS(host, port, "mai-a")
    b.events.clear()
    cid = originate(ari, "bcfilt")
    ev = b.wait("CallBroadcast", chan=cid)
    a4.pump(0.3)
    say("4 filter ^mai-b$: mai-b got", bool(ev), "mai-a got", "CallBroadcast" in a4.types())
    say("4 claim by non-matching mai-a:", ari.req("POST", f"events/claim?channelId={cid}&application=mai-a"))
    say("4 then claim by mai-b:", ari.req("POST", f"events/claim?channelId={cid}&application=mai-b")[0])
    ari.req("DELETE", f"channels/{cid}")

    # 5. A claim naming an app with no WebSocket.
    b.events.clear()
    cid = originate(ari, "bc")
    ev = b.wait("CallBroadcast", chan=cid)
    st, body = ari.req("POST", f"events/claim?channelId={cid}&application=ghost")
    time.sleep(0.5)
    st2, ch = ari.req("GET", f"channels/{cid}")
    say("5 claim for app 'ghost' (no WebSocket):", st, body, "channel after 0.5 s:", st2,
        ch.get("dialplan") if st2 == 200 else "")
    say("5 then claim by mai-b:", ari.req("POST", f"events/claim?channelId={cid}&application=mai-b"))
    ari.req("DELETE", f"channels/{cid}")

    # 6. No matching app connected at all.
    b.close(); a4.close()
    time.sleep(0.3)
    t0 = time.monotonic()
    cid = originate(ari, "bc")
    end = time.monotonic() + 5
    gone = None
    while time.monotonic() < end:
        if ari.req("GET", f"channels/{cid}")[0] == 404:
            gone = time.monotonic() - t0
            break
        time.sleep(0.02)
    say("6 no app matches, timeout 2000: [scale] channel gone after ms:",
        gone and round(gone * 1000))
    origin.close(); other.close()


if __name__ == "__main__":
    main()
