#!/usr/bin/env python3
"""probe_adopt.py — what adopting the calls of a lost instance can rest on,
on Asterisk 22.10.1 (docs/scaling.md quotes the output): global variables as
a lease, GET /applications while an owner is gone, setting MAI_APP and
moving a channel that is in a long playback, and two movers racing.

  probe_adopt.py [--ari http://127.0.0.1:8088]

Needs the [scale] context of tests/scale/extensions_scale.conf; the WS and
ARI helpers are probe.py's."""
import time

from probe import WS, connect, originate, say


def claimed(ari, ws, exten="bc"):
    cid = originate(ari, exten)
    ws.wait("CallBroadcast", chan=cid)
    ari.req("POST", f"events/claim?channelId={cid}&application={ws.app}")
    ws.wait("StasisStart", chan=cid)
    return cid


def timed(ari, method, path, body=None):
    t0 = time.monotonic()
    st, b = ari.req(method, path, body)
    return st, b, round((time.monotonic() - t0) * 1000)


def main():
    ari, host, port = connect()
    origin = WS(host, port, "probe-origin")

    # 1. A global variable as a lease: names with '-', an absent one.
    say("1 set MAI_LEASE_mai-a=1:", timed(ari, "POST", "asterisk/variable?variable=MAI_LEASE_mai-a&value=1"))
    say("1 get MAI_LEASE_mai-a:", timed(ari, "GET", "asterisk/variable?variable=MAI_LEASE_mai-a"))
    say("1 get never set MAI_LEASE_nobody:", timed(ari, "GET", "asterisk/variable?variable=MAI_LEASE_nobody"))
    say("1 set to empty:", timed(ari, "POST", "asterisk/variable?variable=MAI_LEASE_mai-a&value=")[0],
        "get:", ari.req("GET", "asterisk/variable?variable=MAI_LEASE_mai-a"))

    # 2. GET /applications: what it shows of an owner with and without WS.
    a, b, c = WS(host, port, "mai-a"), WS(host, port, "mai-b"), WS(host, port, "mai-c")
    st, apps = ari.req("GET", "applications")
    say("2 GET applications:", st, sorted(x["name"] for x in apps))
    say("2 an app's keys:", sorted(apps[0].keys()))
    cid = claimed(ari, a)
    ari.req("POST", f"channels/{cid}/answer")
    ari.req("POST", f"channels/{cid}/variable", {"variable": "MAI_APP", "value": "mai-a"})
    ari.req("POST", f"channels/{cid}/variable", {"variable": "MAI_STATE", "value": "f/s/1"})
    st, pb = ari.req("POST", f"channels/{cid}/play?media=sound:tt-monkeys&playbackId=mai-p1-{cid}")
    say("2 play tt-monkeys on mai-a's call:", st)
    before = [x for x in ari.req("GET", "applications")[1] if x["name"] == "mai-a"]
    a.close()
    time.sleep(0.5)
    after = [x for x in ari.req("GET", "applications")[1] if x["name"] == "mai-a"]
    say("2 mai-a in GET applications with WS:", before)
    say("2 mai-a in GET applications without WS:", after)

    # 3. Adopting.  A variable set waits for the channel's control queue
    # (behind the playback): urllib gives up after 5 s.
    try:
        st = timed(ari, "POST", f"channels/{cid}/variable", {"variable": "MAI_APP", "value": "mai-b"})
    except OSError as e:
        st = f"no answer in 5 s ({e})"
    say("3 set MAI_APP during the playback:", st)
    st, chs = ari.req("GET", "channels")
    say("3 channelvars in GET channels:", [x.get("channelvars") for x in chs if x["id"] == cid])
    t0 = time.monotonic()
    say("3 move to mai-b (playback running):",
        timed(ari, "POST", f"channels/{cid}/move?app=mai-b&appArgs=mai-adopt")[0::2])
    # A second mover racing: move to mai-c right after.
    say("3 second move to mai-c at once:",
        timed(ari, "POST", f"channels/{cid}/move?app=mai-c&appArgs=mai-adopt")[0::2])
    ssb = b.wait("StasisStart", chan=cid, seconds=1)
    say("3 StasisStart on mai-b within 1 s, playback running:", bool(ssb))
    say("3 stop the playback:", timed(ari, "DELETE", f"playbacks/mai-p1-{cid}")[0::2])
    ssc = c.wait("StasisStart", chan=cid, seconds=3)
    ssb = b.wait("StasisStart", chan=cid, seconds=0.5)
    say("3 StasisStart on mai-b:", ssb and (ssb.get("args"), round((ssb["_t"] - t0) * 1000)),
        "on mai-c:", ssc and (ssc.get("args"), round((ssc["_t"] - t0) * 1000)))
    se = b.wait("StasisEnd", chan=cid, seconds=1)
    say("3 StasisEnd on mai-b (moved on):", se and round((se["_t"] - t0) * 1000))
    say("3 set MAI_APP=mai-c after the moves:",
        timed(ari, "POST", f"channels/{cid}/variable", {"variable": "MAI_APP", "value": "mai-c"})[0::2])
    say("3 move to the app it is in (mai-c):",
        timed(ari, "POST", f"channels/{cid}/move?app=mai-c&appArgs=again")[0::2])
    c.events.clear()
    c.pump(1)
    say("3 mai-c then got:", [(e["type"], e.get("args")) for e in c.events if e.get("channel", {}).get("id") == cid])
    st, ch = ari.req("GET", f"channels/{cid}")
    say("3 channel now:", st, ch.get("dialplan"), ch.get("channelvars"))
    # mai-b moves it back: does a later move steal a channel?
    say("3 mai-b moves it back from mai-c:",
        timed(ari, "POST", f"channels/{cid}/move?app=mai-b&appArgs=x")[0::2])
    b.events.clear(); c.events.clear()
    ssb2 = b.wait("StasisStart", chan=cid, seconds=2)
    sec = c.wait("StasisEnd", chan=cid, seconds=2)
    say("3 after move back: StasisStart on mai-b", bool(ssb2), "StasisEnd on mai-c", bool(sec))
    ari.req("DELETE", f"channels/{cid}")

    # 4. A move while the owner's WebSocket is still up: what the owner sees.
    cid = claimed(ari, b)
    c.events.clear()
    say("4 move a live owner's call mai-b -> mai-c:",
        ari.req("POST", f"channels/{cid}/move?app=mai-c&appArgs=mai-adopt")[0])
    se = b.wait("StasisEnd", chan=cid, seconds=2)
    ss = c.wait("StasisStart", chan=cid, seconds=2)
    say("4 mai-b got StasisEnd:", bool(se), "mai-c got StasisStart:", bool(ss))
    ari.req("DELETE", f"channels/{cid}")
    c.wait("StasisEnd", chan=cid, seconds=2)

    # 5. GET channels on an idle edge: its cost in bytes per channel.
    cids = [claimed(ari, c) for _ in range(5)]
    t0 = time.monotonic()
    st, chs = ari.req("GET", "channels")
    say("5 GET channels with", len(chs), "channels:",
        round((time.monotonic() - t0) * 1000, 1), "ms")
    for x in cids:
        ari.req("DELETE", f"channels/{x}")
    b.close(); c.close(); origin.close()


if __name__ == "__main__":
    main()
