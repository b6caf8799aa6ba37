#!/usr/bin/env python3
"""Self-test of mai-ari-sim's call simulation (python3, standard library).

Starts ./mai-ari-sim on a free port, drives it over REST, /_sim/ and the
events WebSocket, and checks what a Stasis application would see.  Run
with `make -C tests/ari-sim selftest`; exits non-zero on the first failure.
"""
import base64, json, os, socket, struct, subprocess, sys, threading, time
import urllib.error, urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
AUTH = "Basic " + base64.b64encode(b"mai:mvoice8908!#").decode()


class Events:
    """A minimal /ari/events client: handshake, then text frames."""

    def __init__(self, port, app, subscribe_all=True):
        self.s = socket.create_connection(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        sub = "&subscribeAll=true" if subscribe_all else ""
        self.s.sendall((
            f"GET /ari/events?app={app}{sub}&api_key=mai:mvoice8908!%23 "
            f"HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\n\r\n").encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            self.buf += self.s.recv(4096)
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        assert b" 101 " in head.split(b"\r\n")[0], head

    def _need(self, n, timeout):
        self.s.settimeout(timeout)
        while len(self.buf) < n:
            d = self.s.recv(65536)
            if not d:
                raise EOFError
            self.buf += d

    def recv(self, timeout=2.0):
        self._need(2, timeout)
        n, off = self.buf[1] & 0x7F, 2
        if n == 126:
            self._need(4, timeout)
            n, off = struct.unpack(">H", self.buf[2:4])[0], 4
        elif n == 127:
            self._need(10, timeout)
            n, off = struct.unpack(">Q", self.buf[2:10])[0], 10
        self._need(off + n, timeout)
        data, self.buf = self.buf[off:off + n], self.buf[off + n:]
        return json.loads(data)

    def drain(self, quiet=0.3):
        out = []
        try:
            while True:
                out.append(self.recv(quiet))
        except (socket.timeout, TimeoutError):
            return out

    def types(self, quiet=0.3):
        return [e["type"] for e in self.drain(quiet)]


class Sim:
    def __init__(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.proc = subprocess.Popen(
            [os.path.join(HERE, "mai-ari-sim"), "--port", str(self.port),
             "--user", "mai", "--password", "mvoice8908!#", "--quiet"],
            stdout=subprocess.PIPE)
        assert self.proc.stdout.readline().startswith(b"ari-sim listening")

    def req(self, method, path, body=None, auth=True):
        data = None
        if body is not None:
            data = json.dumps(body).encode()
        elif method in ("POST", "PUT"):
            data = b""
        r = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}",
                                   data=data, method=method)
        if body is not None:
            r.add_header("Content-Type", "application/json")
        if auth:
            r.add_header("Authorization", AUTH)
        try:
            with urllib.request.urlopen(r, timeout=5) as a:
                raw, st, hdr = a.read(), a.status, a.headers
        except urllib.error.HTTPError as e:
            raw, st, hdr = e.read(), e.code, e.headers
        return st, (json.loads(raw) if raw else None), hdr

    def ctl(self, cmd):
        return self.req("GET", "/_sim/" + cmd, auth=False)[1]

    def stop(self):
        self.proc.terminate()
        assert self.proc.wait(5) == 0


def eq(a, b, what):
    if a != b:
        raise AssertionError(f"{what}: got {a!r}, want {b!r}")


def test_call_answer_play_hangup(sim, ev):
    cid = sim.ctl("call?exten=555&caller=1001")["channel"]
    e = ev.recv()
    eq(e["type"], "StasisStart", "first event")
    eq(e["args"], [], "args")
    ch = e["channel"]
    eq((ch["id"], ch["state"], ch["caller"]["number"]), (cid, "Ring", "1001"),
       "channel")
    eq(ch["dialplan"], {"context": "incoming", "exten": "555", "priority": 1,
                        "app_name": "Stasis", "app_data": "mai"}, "dialplan")
    eq(sim.req("POST", f"/ari/channels/{cid}/answer")[0], 204, "answer")
    e = ev.recv()
    eq((e["type"], e["channel"]["state"]), ("ChannelStateChange", "Up"), "up")
    st, pb, hdr = sim.req("POST", f"/ari/channels/{cid}/play?media=sound:a"
                          "&media=sound:b&playbackId=p1")
    eq((st, pb["state"], pb["next_media_uri"]), (201, "queued", "sound:b"),
       "play")
    eq(hdr["Location"], "/playbacks/p1", "Location")
    got = [(e["type"], e["playback"]["media_uri"], e["playback"]["state"])
           for e in ev.drain(0.6)]
    eq(got, [("PlaybackStarted", "sound:a", "playing"),
             ("PlaybackContinuing", "sound:a", "continuing"),
             ("PlaybackStarted", "sound:b", "playing"),
             ("PlaybackFinished", "sound:b", "done")], "playback events")
    eq(sim.req("DELETE", f"/ari/channels/{cid}?reason_code=17")[0], 204,
       "hangup")
    got = ev.drain()
    eq([e["type"] for e in got], ["ChannelHangupRequest", "StasisEnd",
                                  "ChannelDestroyed"], "hangup events")
    eq((got[0]["cause"], got[0]["soft"]), (17, True), "hangup request")
    eq((got[2]["cause"], got[2]["cause_txt"]), (17, "User busy"), "destroyed")
    eq(sim.req("POST", f"/ari/channels/{cid}/answer")[1],
       {"message": "Channel not found"}, "gone")
    st = sim.ctl("stats")
    eq((st["calls_started"], st["calls_ended"], st["channels"]), (1, 1, 0),
       "call stats")
    eq(st["answer_latency_us"]["count"], 1, "latency sample")


def test_errors(sim, ev):
    eq(sim.req("POST", "/ari/channels/nope/answer")[:2],
       (404, {"message": "Channel not found"}), "404")
    cid = sim.ctl("call")["channel"]
    ev.drain()
    eq(sim.req("POST", f"/ari/channels/{cid}/play")[:2],
       (400, {"message": "Missing parameter media"}), "no media")
    eq(sim.req("GET", f"/ari/channels/{cid}/variable?variable=X")[:2],
       (404, {"message": "Provided variable was not found"}), "no var")
    eq(sim.req("POST", f"/ari/channels/{cid}/variable?variable=X&value=1")[0],
       204, "set var")
    eq(ev.recv()["type"], "ChannelVarset", "varset event")
    eq(sim.req("GET", f"/ari/channels/{cid}/variable?variable=X")[1],
       {"value": "1"}, "get var")
    eq(sim.req("DELETE", f"/ari/channels/{cid}?reason=nope")[0], 400,
       "bad reason")
    eq(sim.req("POST", f"/ari/channels/{cid}/continue?context=done")[0], 204,
       "continue")
    eq(ev.recv()["type"], "StasisEnd", "continue StasisEnd")
    eq(sim.req("POST", f"/ari/channels/{cid}/answer")[:2],
       (409, {"message": "Channel not in Stasis application"}), "409")
    e = ev.recv()  # the dialplan hangs up; subscribeAll sees it
    eq((e["type"], e["channel"]["dialplan"]["context"]),
       ("ChannelDestroyed", "done"), "after continue")


def test_originate(sim, ev):
    st, ch, _ = sim.req("POST", "/ari/channels", {
        "endpoint": "PJSIP/bob", "app": "mai", "appArgs": "x,y",
        "channelId": "o1", "variables": {"V": "w"}})
    eq((st, ch["id"], ch["state"]), (200, "o1", "Down"), "originate")
    eq([(e["type"], e.get("args")) for e in ev.drain()],
       [("ChannelStateChange", None), ("StasisStart", ["x", "y"])],
       "originate events")
    eq(sim.req("GET", "/ari/channels/o1/variable?variable=V")[1],
       {"value": "w"}, "body variables")
    eq(sim.req("POST", "/ari/channels/o1", {"endpoint": "PJSIP/a",
                                            "app": "mai"})[0], 409, "dup id")
    sim.req("POST", "/ari/channels?endpoint=PJSIP/busy&app=mai")
    e = ev.drain()
    eq([(x["type"], x["cause"]) for x in e], [("ChannelDestroyed", 17)],
       "busy")
    eq(sim.req("POST", "/ari/channels?app=mai")[0], 400, "no endpoint")
    st, ch, _ = sim.req("POST", "/ari/channels?endpoint=Local/100@out"
                        "&app=mai&channelId=L1&otherChannelId=L2")
    eq((st, ch["name"][-2:]), (200, ";1"), "Local ;1")
    eq([(e["type"], e["channel"]["id"]) for e in ev.drain()],
       [("ChannelStateChange", "L2"), ("ChannelStateChange", "L1"),
        ("StasisStart", "L1")], "Local pair answered")
    sim.req("DELETE", "/ari/channels/L2")
    eq([(e["type"], e["channel"]["id"]) for e in ev.drain()],
       [("ChannelHangupRequest", "L2"), ("ChannelDestroyed", "L2"),
        ("ChannelHangupRequest", "L1"), ("StasisEnd", "L1"),
        ("ChannelDestroyed", "L1")], "Local pair ends together")
    st, ch, _ = sim.req("POST", "/ari/channels/externalMedia?app=mai"
                        "&external_host=127.0.0.1:4000&format=ulaw")
    eq((st, sorted(ch["channelvars"])), (200, ["UNICASTRTP_LOCAL_ADDRESS",
                                               "UNICASTRTP_LOCAL_PORT"]),
       "externalMedia")
    eq(ev.types()[-1], "StasisStart", "externalMedia StasisStart")
    base = "/ari/channels/externalMedia?app=mai&external_host=h:1"
    eq(sim.req("POST", base)[0], 400, "no format")
    eq(sim.req("POST", base + "&format=ulaw&direction=in")[0], 400, "dir")
    eq(sim.req("POST", base + "&format=ulaw&transport=sctp")[0], 501, "tr")
    # /_sim/answer: a leg that would ring for ten minutes picks up now.
    sim.ctl("media?answer_delay_ms=600000")
    sim.req("POST", "/ari/channels?endpoint=PJSIP/carol&app=mai"
            "&channelId=r1")
    eq(ev.types(), [], "ringing: no events")
    eq(sim.ctl("answer?channel=r1")["answered"], 1, "answer")
    eq([(e["type"], e["channel"]["id"]) for e in ev.drain()],
       [("ChannelStateChange", "r1"), ("StasisStart", "r1")], "answered")
    eq(sim.req("GET", "/_sim/answer?channel=r1", auth=False)[0], 400,
       "answer twice")
    sim.req("DELETE", "/ari/channels/r1")
    ev.drain()
    sim.ctl("media?answer_delay_ms=10")


def test_bridge_record_dtmf(sim, ev):
    a = sim.ctl("call")["channel"]
    b = sim.ctl("call")["channel"]
    ev.drain()
    st, br, _ = sim.req("POST", "/ari/bridges?type=mixing&bridgeId=b1")
    eq((st, br["bridge_type"], br["channels"]), (200, "mixing", []), "bridge")
    eq(ev.types(), ["BridgeCreated"], "BridgeCreated")
    eq(sim.req("POST", f"/ari/bridges/b1/addChannel?channel={a},{b}")[0],
       204, "add")
    eq(ev.types(), ["ChannelEnteredBridge"] * 2, "entered")
    sim.ctl(f"hangup?channel={a}")
    eq(ev.types(), ["ChannelHangupRequest", "ChannelLeftBridge", "StasisEnd",
                    "ChannelDestroyed"], "caller hangs up in bridge")
    eq(sim.req("POST", f"/ari/channels/{b}/record?name=r&format=wav")[0], 201,
       "record in bridge")
    eq(ev.types(), ["RecordingFailed"], "recording in a bridge fails")
    eq(sim.req("DELETE", "/ari/bridges/b1")[0], 204, "bridge destroy")
    eq(ev.types(), ["ChannelLeftBridge", "BridgeDestroyed"], "destroyed")
    sim.ctl("media?recording_ms=5000")  # DTMF must end it, not time
    st, rec, _ = sim.req("POST", f"/ari/channels/{b}/record?name=r2"
                         "&format=wav&terminateOn=%23")
    eq((st, rec["state"]), (201, "queued"), "record")
    eq(ev.types(), ["ChannelStateChange", "RecordingStarted"], "rec start")
    sim.ctl(f"dtmf?channel={b}&digits=1%23&gap_ms=20")
    got = ev.drain()
    eq([(e["type"], e.get("digit")) for e in got],
       [("ChannelDtmfReceived", "1"), ("ChannelDtmfReceived", "#"),
        ("RecordingFinished", None)], "dtmf ends recording")
    eq(got[0]["duration_ms"], 100, "duration_ms")
    sim.ctl("media?recording_ms=100")


def test_stats_batch_reset(sim, ev):
    sim.ctl("reset_calls")
    eq(sim.ctl("calls?n=200")["started"], 200, "batch")
    eq(len(ev.drain()), 200, "200 StasisStart")
    st = sim.ctl("stats")
    eq((st["channels"], st["channels_in_stasis"]), (200, 200), "alive")
    eq(sim.ctl("hangup?all=1")["hungup"], 200, "hangup all")
    st = sim.ctl("stats")
    eq((st["calls_started"], st["calls_ended"]), (200, 200), "ended")
    sim.ctl("calls?n=5")
    eq(sim.ctl("reset_calls")["channels"], 5, "reset")
    eq(sim.ctl("stats")["calls_started"], 0, "zeroed")


def test_hold_behind_playback(sim, ev):
    """A variable set behind a running playback is answered when it ends."""
    sim.ctl("reset_calls")
    eq(sim.ctl("media?playback_ms=600000&hold_behind_playback=1")
       ["hold_behind_playback"], 1, "knob")
    cid = sim.ctl("call?exten=555")["channel"]
    ev.drain()
    eq(sim.req("POST", f"/ari/channels/{cid}/play/h1?media=sound:a")[0],
       201, "play")
    got = {}

    def setvar():
        got["st"] = sim.req("POST", f"/ari/channels/{cid}/variable"
                            "?variable=X&value=1")[0]
        got["stats"] = sim.ctl("stats")
    t = threading.Thread(target=setvar)
    t.start()
    # Evidence, not timing: held until PlaybackFinished is sent.
    deadline = time.time() + 5
    while sim.ctl("stats")["held_requests"] != 1 and time.time() < deadline:
        time.sleep(0.02)
    eq(sim.ctl("stats")["held_requests"], 1, "held while playing")
    eq("st" in got, False, "not answered while playing")
    # The sound ends on cue.
    eq(sim.ctl("playbacks_end")["ended"], 1, "playbacks_end")
    types = [e["type"] for e in ev.drain(0.6)]
    t.join(5)
    eq(got.get("st"), 204, "answered after the playback")
    eq("PlaybackFinished" in types, True, "playback ended")
    eq(got["stats"]["held_requests"], 0, "released")
    eq(sim.req("GET", f"/ari/channels/{cid}/variable?variable=X")[1],
       {"value": "1"}, "variable set")
    st = sim.ctl("stats")
    eq((st["held_requests_max"], st["held_requests_total"]), (1, 1),
       "held figures")
    sim.ctl("media?playback_ms=50&hold_behind_playback=0")
    sim.ctl("hangup?all=1")
    ev.drain()


def test_hold_behind_recording(sim, ev):
    """An answer behind a running recording is answered when it ends."""
    sim.ctl("reset_calls")
    sim.ctl("media?recording_ms=600000&hold_behind_playback=1")
    cid = sim.ctl("call?exten=556")["channel"]
    ev.drain()
    eq(sim.req("POST", f"/ari/channels/{cid}/record?name=r1&format=wav")
       [0], 201, "record")
    got = {}

    def answer():
        got["st"] = sim.req("POST", f"/ari/channels/{cid}/answer")[0]
    t = threading.Thread(target=answer)
    t.start()
    deadline = time.time() + 5
    while sim.ctl("stats")["held_requests"] != 1 and time.time() < deadline:
        time.sleep(0.02)
    eq(sim.ctl("stats")["held_requests"], 1, "held while recording")
    eq("st" in got, False, "not answered while recording")
    # The recording is stopped on cue: the answer goes.
    eq(sim.req("POST", "/ari/recordings/live/r1/stop")[0], 204, "stop")
    t.join(5)
    eq(got.get("st"), 204, "answered after the recording")
    st = sim.ctl("stats")
    eq((st["held_requests"], st["held_requests_total"]), (0, 1),
       "held figures")
    sim.ctl("media?recording_ms=100&hold_behind_playback=0")
    sim.ctl("hangup?all=1")
    ev.drain()


def test_hold_play(sim, ev):
    """A held play is not seen until play_release; the log keeps order."""
    sim.ctl("reset_calls")
    sim.ctl("media?playback_ms=600000")
    eq(sim.ctl("media?hold_play=1")["hold_play"], 1, "knob")
    cid = sim.ctl("call?exten=557")["channel"]
    ev.drain()
    got = {}

    def play():
        got["st"] = sim.req("POST", f"/ari/channels/{cid}/play/h2"
                            "?media=sound:a")[0]
    t = threading.Thread(target=play)
    t.start()
    deadline = time.time() + 5
    while sim.ctl("stats")["held_plays"] != 1 and time.time() < deadline:
        time.sleep(0.02)
    eq(sim.ctl("stats")["held_plays"], 1, "play held")
    # Asterisk has not seen the play: no such playback yet.
    eq(sim.req("DELETE", "/ari/playbacks/h2")[0], 404, "stop too early")
    eq(sim.ctl("stats")["playbacks_active"], 0, "no playback yet")
    eq(sim.ctl("play_release")["released"], 1, "released")
    t.join(5)
    eq(got.get("st"), 201, "play answered once released")
    eq(sim.req("DELETE", "/ari/playbacks/h2")[0], 204, "stop")
    eq(sim.ctl("requests")["requests"][-3:],
       ["404 DELETE /ari/playbacks/h2",
        f"201 POST /ari/channels/{cid}/play/h2",
        "204 DELETE /ari/playbacks/h2"], "order")
    st = sim.ctl("stats")
    eq((st["held_plays"], st["held_requests_total"], st["playbacks_active"]),
       (0, 0, 0), "figures")
    sim.ctl("media?playback_ms=50&hold_play=0")
    eq(sim.ctl("reset_calls")["channels"], 1, "reset")
    eq(sim.ctl("requests")["requests"], [], "log reset")
    ev.drain()


def test_no_subscribe_all(sim):
    ev = Events(sim.port, "quiet", subscribe_all=False)
    cid = sim.ctl("call?app=quiet")["channel"]
    eq(ev.types(), ["StasisStart"], "start")
    sim.req("POST", f"/ari/channels/{cid}/continue")
    time.sleep(0.2)
    eq(ev.types(), ["StasisEnd"], "no ChannelDestroyed after StasisEnd")


def test_event_filter(sim):
    """eventFilter as Asterisk 22 sets and applies it (res/stasis/app.c)."""
    ev = Events(sim.port, "filt")
    path = "/ari/applications/filt/eventFilter"
    for bad in ({"allowed": "StasisStart"}, {"allowed": [{"kind": "x"}]},
                {"allowed": [{"type": ""}]}):
        eq(sim.req("PUT", path, bad)[0], 400, f"bad filter {bad}")
    eq(sim.req("PUT", "/ari/applications/nosuch/eventFilter", {})[0], 404,
       "unknown app")
    st, body, _ = sim.req("PUT", path, {"allowed": [{"type": "StasisStart"}],
                                        "disallowed": []})
    eq((st, body["events_allowed"]), (200, [{"type": "StasisStart"}]), "set")
    cid = sim.ctl("call?app=filt")["channel"]
    sim.ctl(f"hangup?channel={cid}")
    eq(ev.types(), ["StasisStart"], "only the allowed type")
    # Only "disallowed" given: "allowed" stays; no JSON type: both cleared.
    st, body, _ = sim.req("PUT", path, {"disallowed": [{"type": "StasisEnd"}]})
    eq(body["events_allowed"], [{"type": "StasisStart"}], "allowed kept")
    r = urllib.request.Request(f"http://127.0.0.1:{sim.port}{path}",
                               data=b'{"allowed":[{"type":"X"}]}',
                               method="PUT", headers={"Authorization": AUTH})
    with urllib.request.urlopen(r, timeout=5) as a:
        body = json.loads(a.read())
    eq((body["events_allowed"], body["events_disallowed"]), ([], []),
       "a body not said to be JSON is not read: cleared")
    eq(sim.req("GET", "/_sim/hangup?all=1&linger_ms=10", auth=False)[0],
       400, "linger_ms with all=1 refused")


def main():
    subprocess.run(["make", "-s", "-C", HERE], check=True)
    sim = Sim()
    try:
        sim.ctl("media?playback_ms=50&recording_ms=100&answer_delay_ms=10"
                "&continue_ms=10")
        ev = Events(sim.port, "mai")
        for t in (test_call_answer_play_hangup, test_errors, test_originate,
                  test_bridge_record_dtmf, test_stats_batch_reset,
                  test_hold_behind_playback, test_hold_behind_recording,
                  test_hold_play):
            t(sim, ev)
            print("ok", t.__name__)
        test_no_subscribe_all(sim)
        print("ok test_no_subscribe_all")
        test_event_filter(sim)
        print("ok test_event_filter")
    finally:
        sim.stop()
    print("selftest: all passed")


if __name__ == "__main__":
    main()
