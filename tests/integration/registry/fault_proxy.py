#!/usr/bin/env python3
"""A fault-injecting HTTP proxy in front of a plain-HTTP registry, for
t_pull.sh. It relays every request to --upstream and logs one JSON object a
line to --log for each response: method, path, kind (blob, manifest or
other), digest (of a blob), the Range asked for, status, Content-Range and
the body bytes actually sent ("sent"). Summing "sent" per digest shows how
much of each blob went over the wire.

Faults (each one only where asked for):
  --cut DIGEST       the first GET of that blob is cut off (the connection
                     closed) after half of its body
  --ignore-range     Range is dropped on the way up: every blob GET is a 200
                     with the whole blob, as some servers do
  --bad-range        a Range GET is answered 206 with the whole blob and a
                     Content-Range that starts at 0, not where it was asked
  --corrupt DIGEST   one byte in the middle of that blob is flipped, always
  --too-many KIND    the first request for a KIND (manifest or blob) gets
                     429 with Retry-After: --retry-after seconds
Standard library only.
"""
import argparse
import http.client
import http.server
import json
import re
import socket
import sys
import threading
import time

BLOB = re.compile(r"^/v2/.+/blobs/(sha256:[0-9a-f]{64})$")
MANIFEST = re.compile(r"^/v2/.+/manifests/[^/]+$")
HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te",
       "trailer", "upgrade", "content-length"}

lock = threading.Lock()
seen = {}  # (kind, digest or path) -> requests so far
kinds_seen = {}  # kind -> requests so far


def log(entry):
    with lock:
        with open(args.log, "a") as f:
            f.write(json.dumps(entry) + "\n")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        self.relay()

    def do_HEAD(self):
        self.relay()

    def relay(self):
        path = self.path.split("?", 1)[0]
        m = BLOB.match(path)
        digest = m.group(1) if m else None
        kind = "blob" if m else "manifest" if MANIFEST.match(path) else "other"
        with lock:
            key = (kind, digest or path, self.command)
            n = seen.get(key, 0)
            seen[key] = n + 1
            nk = kinds_seen.get(kind, 0)
            kinds_seen[kind] = nk + 1
        want_range = self.headers.get("Range")
        entry = {"t": time.time(), "method": self.command, "path": path, "kind": kind,
                 "digest": digest, "range": want_range,
                 "auth": self.headers.get("Authorization") is not None}

        if args.too_many == kind and nk == 0:
            body = json.dumps({"errors": [{"code": "TOOMANYREQUESTS",
                                           "message": "slow down, test proxy"}]}).encode()
            self.send_response(429)
            self.send_header("Retry-After", str(args.retry_after))
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            sent = 0
            if self.command == "GET":
                self.wfile.write(body)
                sent = len(body)
            log(dict(entry, status=429, sent=sent))
            return

        # repeated headers (skopeo sends Accept once per media type) as one
        headers = {}
        for k in self.headers.keys():
            if k.lower() not in HOP:
                headers[k] = ", ".join(self.headers.get_all(k))
        fake_range = False
        if digest and want_range and (args.ignore_range or args.bad_range):
            headers.pop("Range", None)
            fake_range = args.bad_range
        up = http.client.HTTPConnection(args.upstream, timeout=60)
        up.request(self.command, self.path, headers=headers)
        resp = up.getresponse()
        body = resp.read() if self.command == "GET" else b""
        up.close()
        status = resp.status
        out = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP]
        length = resp.getheader("Content-Length")
        if self.command == "GET":
            length = str(len(body))
        if fake_range and status == 200:
            # claims a partial answer, but one that starts at the beginning
            status = 206
            out = [(k, v) for k, v in out if k.lower() != "content-range"]
            out.append(("Content-Range", "bytes 0-%d/%d" % (len(body) - 1, len(body))))
        if digest in args.corrupt and body:
            i = len(body) // 2
            body = body[:i] + bytes([body[i] ^ 0xFF]) + body[i + 1:]
        cut = (digest is not None and digest == args.cut and self.command == "GET" and n == 0
               and status in (200, 206) and len(body) > 1)

        self.send_response(status)
        for k, v in out:
            self.send_header(k, v)
        if length is not None:
            self.send_header("Content-Length", length)
        self.end_headers()
        sent = len(body) // 2 if cut else len(body)
        try:
            self.wfile.write(body[:sent])
            self.wfile.flush()
        except OSError:
            pass
        log(dict(entry, status=status, sent=sent, cut=cut,
                 content_range=dict(out).get("Content-Range")))
        if cut:
            # the rest never comes: the connection ends mid-body
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--upstream", required=True, help="HOST:PORT of the registry")
    p.add_argument("--log", required=True)
    p.add_argument("--cut")
    p.add_argument("--ignore-range", action="store_true")
    p.add_argument("--bad-range", action="store_true")
    p.add_argument("--corrupt", action="append", default=[])
    p.add_argument("--too-many", choices=["manifest", "blob"])
    p.add_argument("--retry-after", type=int, default=1)
    args = p.parse_args()
    open(args.log, "a").close()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    # a client that hangs up (as one whose transfer was cut may) is no news
    srv.handle_error = lambda request, address: None
    print("fault_proxy: listening on 127.0.0.1:%d" % args.port, flush=True)
    srv.serve_forever()
