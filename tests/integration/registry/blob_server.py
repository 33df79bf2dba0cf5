#!/usr/bin/env python3
"""The far end of the registry's redirect middleware, for t_pull.sh: serves
the files of the registry's storage directory (--root) by the path in the
URL, as a storage backend's URL would, with Range. Logs one JSON object a
line to --log per request: method, path, status, and whether an
Authorization header came with it (it never should: it is another host:port
than the registry's). Standard library only.
"""
import argparse
import http.server
import json
import os
import re
import threading

lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        self.serve()

    def do_HEAD(self):
        self.serve()

    def serve(self):
        path = self.path.split("?", 1)[0]
        full = os.path.realpath(os.path.join(args.root, path.lstrip("/")))
        auth = self.headers.get("Authorization")
        status, body, extra = 404, b"", []
        if full.startswith(os.path.realpath(args.root) + "/") and os.path.isfile(full):
            with open(full, "rb") as f:
                body = f.read()
            status = 200
            m = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range") or "")
            if m and int(m.group(1)) < len(body):
                start = int(m.group(1))
                end = int(m.group(2)) if m.group(2) else len(body) - 1
                extra.append(("Content-Range", "bytes %d-%d/%d" % (start, end, len(body))))
                body = body[start:end + 1]
                status = 206
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command == "GET":
            self.wfile.write(body)
        with lock, open(args.log, "a") as f:
            f.write(json.dumps({"method": self.command, "path": path, "status": status,
                                "auth": auth is not None,
                                "scheme": (auth or "").split(" ")[0]}) + "\n")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--root", required=True)
    p.add_argument("--log", required=True)
    args = p.parse_args()
    open(args.log, "a").close()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    print("blob_server: listening on 127.0.0.1:%d" % args.port, flush=True)
    srv.serve_forever()
