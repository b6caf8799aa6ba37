#!/usr/bin/env python3
"""bench/seed.py — the seed-style ARI client bench/burst.sh compares mai with.

What a first ARI client usually looks like: one WebSocket for the events
and ONE keep-alive HTTP connection for every request, used in turn, all in
one thread.  For each StasisStart: POST answer, POST play
sound:hello-world; on PlaybackFinished: DELETE the channel.  Python's
standard library only (the WebSocket client is the few lines below).

    seed.py [--app seed] [--host 127.0.0.1] [--port 8088] [--user mai]
            [--ws-rest]
    ARI_PASSWORD in the environment (never argv).

--ws-rest: the same requests as RESTRequest messages on the events
WebSocket itself (Asterisk 20.14/21.9/22.4+), sent without waiting for
their RESTResponse: the prototype docs/performance.md measures REST over
the WebSocket with.
Prints "ready" on stdout once the WebSocket is up.
"""
import argparse
import base64
import http.client
import json
import os
import socket
import struct
import sys


def ws_connect(host, port, path, auth):
    sock = socket.create_connection((host, port))
    key = base64.b64encode(os.urandom(16)).decode()
    req = (f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
           "Upgrade: websocket\r\nConnection: Upgrade\r\n"
           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
           f"Authorization: Basic {auth}\r\n\r\n")
    sock.sendall(req.encode())
    f = sock.makefile("rb")
    status = f.readline()
    if b" 101 " not in status:
        sys.exit(f"seed.py: WebSocket refused: {status!r}")
    while f.readline() not in (b"\r\n", b""):
        pass
    return sock, f


def ws_send(sock, opcode, data):
    mask = os.urandom(4)
    n = len(data)
    if n < 126:
        hdr = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        hdr = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        hdr = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
    sock.sendall(hdr + mask + body)


def ws_read(sock, f):
    """The next text message; answers pings, None when the socket closes."""
    msg = b""
    while True:
        h = f.read(2)
        if len(h) < 2:
            return None
        op, n = h[0] & 0x0F, h[1] & 0x7F
        if n == 126:
            n = struct.unpack("!H", f.read(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", f.read(8))[0]
        data = f.read(n)
        if op == 0x9:
            ws_send(sock, 0xA, data)
            continue
        if op == 0x8:
            return None
        msg += data
        if h[0] & 0x80:
            return msg


class WsRest:
    """RESTRequest messages on the events WebSocket, answers not awaited."""

    def __init__(self, sock):
        self.sock = sock
        self.n = 0

    def call(self, method, path):
        self.n += 1
        uri, _, query = path.lstrip("/").partition("?")
        req = {"type": "RESTRequest", "request_id": str(self.n),
               "method": method, "uri": uri}
        if query:
            k, _, v = query.partition("=")
            req["query_strings"] = [{"name": k, "value": v}]
        ws_send(self.sock, 0x1, json.dumps(req).encode())
        return 0


class Rest:
    """One keep-alive connection, requests one after another."""

    def __init__(self, host, port, auth):
        self.conn = http.client.HTTPConnection(host, port)
        self.hdr = {"Authorization": f"Basic {auth}",
                    "Content-Length": "0"}

    def call(self, method, path):
        for attempt in (0, 1):
            try:
                self.conn.request(method, "/ari" + path, headers=self.hdr)
                r = self.conn.getresponse()
                r.read()
                return r.status
            except (http.client.HTTPException, OSError):
                # Asterisk closed the idle session (session_keep_alive).
                self.conn.close()
                if attempt:
                    raise
        return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--app", default="seed")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8088)
    ap.add_argument("--user", default="mai")
    ap.add_argument("--ws-rest", action="store_true")
    a = ap.parse_args()
    auth = base64.b64encode(
        f"{a.user}:{os.environ['ARI_PASSWORD']}".encode()).decode()
    sock, f = ws_connect(a.host, a.port, f"/ari/events?app={a.app}", auth)
    rest = WsRest(sock) if a.ws_rest else Rest(a.host, a.port, auth)
    print("ready", flush=True)
    while True:
        m = ws_read(sock, f)
        if m is None:
            return
        ev = json.loads(m)
        t = ev.get("type")
        if t == "StasisStart":
            ch = ev["channel"]["id"]
            rest.call("POST", f"/channels/{ch}/answer")
            rest.call("POST", f"/channels/{ch}/play?media=sound:hello-world")
        elif t == "RESTResponse" and ev.get("status_code", 200) >= 300:
            print(f"seed.py: {ev.get('status_code')} "
                  f"{ev.get('message_body', '')[:200]}", file=sys.stderr)
        elif t == "PlaybackFinished":
            ch = ev["playback"]["target_uri"].split(":", 1)[1]
            rest.call("DELETE", f"/channels/{ch}")


if __name__ == "__main__":
    main()
