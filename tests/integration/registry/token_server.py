#!/usr/bin/env python3
"""A token issuer for a registry configured with `auth: token`, for
t_pull.sh, as Docker Hub's auth server answers: GET (or an OAuth2 POST) on
/token with service= and scope=repository:NAME:ACTIONS gives a JWT, signed
RS256 with --key (through `openssl dgst -sha256 -sign`) and carrying the
--cert in its "x5c" header, which the registry checks against its
rootcertbundle.

Who gets what: anonymous requests get pull on repositories under
--public (default "public/") only; requests with the right Basic
credentials (--user USER:PASS) get every action they ask for; wrong
credentials get 401. Each request is logged as one JSON object a line to
--log (account, scopes, what was granted, status), so a test can count the
token requests of a pull. Standard library only.
"""
import argparse
import base64
import http.server
import json
import os
import subprocess
import threading
import time
import urllib.parse

lock = threading.Lock()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(data):
    return subprocess.run(["openssl", "dgst", "-sha256", "-sign", args.key], input=data,
                          stdout=subprocess.PIPE, check=True).stdout


def make_token(account, access):
    now = int(time.time())
    header = {"typ": "JWT", "alg": "RS256", "x5c": [CERT_B64]}
    claims = {"iss": args.issuer, "sub": account, "aud": args.service, "exp": now + args.ttl,
              "nbf": now - 10, "iat": now, "jti": b64url(os.urandom(12)), "access": access}
    signing_input = (b64url(json.dumps(header).encode()) + "." +
                     b64url(json.dumps(claims).encode())).encode()
    return signing_input.decode() + "." + b64url(sign(signing_input))


def grant(account, scopes):
    access = []
    for scope in scopes:
        parts = scope.split(":")
        if len(parts) < 3 or parts[0] != "repository":
            continue
        name, actions = ":".join(parts[1:-1]), parts[-1].split(",")
        if account:
            allowed = [a for a in actions if a]
        else:
            allowed = [a for a in actions if a == "pull" and name.startswith(args.public)]
        if allowed:
            access.append({"type": "repository", "name": name, "actions": allowed})
    return access


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query)
        user = password = None
        auth = self.headers.get("Authorization") or ""
        if auth.lower().startswith("basic "):
            try:
                user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            except ValueError:
                user, password = "", None
        self.answer(u.path, q.get("scope", []), user, password, q.get("service", [""])[0],
                    "GET")

    def do_POST(self):
        # OAuth2 password grant: the form carries the credentials
        n = int(self.headers.get("Content-Length") or 0)
        q = urllib.parse.parse_qs(self.rfile.read(n).decode())
        scopes = " ".join(q.get("scope", [])).split()
        self.answer(urllib.parse.urlsplit(self.path).path, scopes, q.get("username", [None])[0],
                    q.get("password", [None])[0], q.get("service", [""])[0], "POST")

    def answer(self, path, scopes, user, password, service, method):
        entry = {"t": time.time(), "method": method, "account": user, "scopes": scopes,
                 "service": service}
        if path != "/token":
            self.reply(404, {"errors": [{"code": "NOT_FOUND", "message": "no such path"}]})
            status, access = 404, None
        elif user is not None and "%s:%s" % (user, password) not in args.user:
            self.reply(401, {"errors": [{"code": "UNAUTHORIZED",
                                         "message": "incorrect username or password"}]})
            status, access = 401, None
        else:
            access = grant(user or "", scopes)
            token = make_token(user or "", access)
            self.reply(200, {"token": token, "access_token": token, "expires_in": args.ttl,
                             "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
            status = 200
        with lock, open(args.log, "a") as f:
            f.write(json.dumps(dict(entry, status=status, granted=access)) + "\n")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--key", required=True, help="PEM RSA key that signs")
    p.add_argument("--cert", required=True, help="PEM certificate of that key")
    p.add_argument("--service", default="test-registry")
    p.add_argument("--issuer", default="test-issuer")
    p.add_argument("--user", action="append", default=[], help="USER:PASS")
    p.add_argument("--public", default="public/")
    p.add_argument("--ttl", type=int, default=300)
    p.add_argument("--log", required=True)
    args = p.parse_args()
    der = subprocess.run(["openssl", "x509", "-in", args.cert, "-outform", "DER"],
                         stdout=subprocess.PIPE, check=True).stdout
    CERT_B64 = base64.b64encode(der).decode()
    open(args.log, "a").close()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    print("token_server: listening on 127.0.0.1:%d" % args.port, flush=True)
    srv.serve_forever()
