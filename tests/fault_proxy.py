#!/usr/bin/env python3
"""A fault-injecting HTTP reverse proxy for tests (stdlib only).

    fault_proxy.py --listen PORT --upstream http://127.0.0.1:MOTO [--rate 0.3] [--seed 1]
                   [--faults slowdown,reset,truncate,delay,500] [--methods PUT,POST] [--log FILE]

Each request is forwarded unchanged (Host header included, so SigV4 signatures still verify) unless
a fault is drawn, with probability --rate, from the --faults kinds:
  slowdown  answer 503 with an S3 <Error><Code>SlowDown</Code> body and Retry-After: 0, unforwarded
  500       answer 500 InternalError, unforwarded
  reset     read the request, then close the connection without answering (RST)
  truncate  forward the request, then send only half the response and close (the store DID act)
  delay     wait 0.3 s, then forward
--methods limits faults to requests with those methods (default: all).
--check-payload does what S3 does and moto does not: a body whose SHA-256 differs from its signed
x-amz-content-sha256 is answered 400 XAmzContentSHA256Mismatch, unforwarded (checks are counted in
the log as "payload-checked" and "payload-mismatch"); likewise a body whose SHA-256 differs from
its x-amz-checksum-sha256 (base64) is answered 400 BadDigest ("checksum-checked", "checksum-mismatch").
--after-truncate CMD runs the shell command CMD once, after the first truncation and before its
connection is closed (a test replaces the object there, so the resume meets a changed object);
requests carrying If-Match are counted as "if-match" and those answered 412 as "412".
Prints "ready PORT" on stdout once listening; counts of faults by kind are appended to --log.
"""
import argparse
import base64
import hashlib
import http.client
import random
import socket
import struct
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

SLOWDOWN = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
            b'<Message>Please reduce your request rate.</Message></Error>')
MISMATCH = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>XAmzContentSHA256Mismatch</Code>'
            b'<Message>The provided x-amz-content-sha256 header does not match what was computed.</Message></Error>')
BADDIGEST = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>BadDigest</Code>'
             b'<Message>The SHA256 you specified did not match the calculated checksum.</Message></Error>')
INTERNAL = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code>'
            b'<Message>We encountered an internal error. Please try again.</Message></Error>')


class State:
    def __init__(self, args):
        self.rate = args.rate
        self.kinds = [k for k in args.faults.split(",") if k]
        self.rng = random.Random(args.seed)
        self.lock = threading.Lock()
        self.counts = {}
        self.log = args.log
        self.methods = set(m for m in (args.methods or "").split(",") if m)
        self.check_payload = args.check_payload
        self.after_truncate = args.after_truncate
        u = urlsplit(args.upstream)
        self.host, self.port = u.hostname, u.port or 80

    def count(self, kind):
        with self.lock:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            if self.log:
                with open(self.log, "a") as f:
                    f.write(kind + "\n")

    def draw(self, method):
        if self.methods and method not in self.methods:
            return None
        with self.lock:
            if self.rng.random() >= self.rate:
                return None
            k = self.rng.choice(self.kinds)
            self.counts[k] = self.counts.get(k, 0) + 1
            if self.log:
                with open(self.log, "a") as f:
                    f.write(k + "\n")
            return k


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state = None

    def log_message(self, *a):
        pass

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        chunks = []
        while n > 0:
            c = self.rfile.read(min(n, 1 << 20))
            if not c:
                break
            chunks.append(c)
            n -= len(c)
        return b"".join(chunks)

    def _reset(self):
        # SO_LINGER 0: close() sends RST, like a dropped connection
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        try:
            self.connection.close()
        except OSError:
            pass

    def _error(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Retry-After", "0")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self):
        body = self._body()
        claimed = (self.headers.get("x-amz-content-sha256") or "").lower()
        if self.state.check_payload and len(claimed) == 64 and all(c in "0123456789abcdef" for c in claimed):
            ok = hashlib.sha256(body or b"").hexdigest() == claimed
            self.state.count("payload-checked" if ok else "payload-mismatch")
            if not ok:
                return self._error(400, MISMATCH)
        flex = self.headers.get("x-amz-checksum-sha256")
        if self.state.check_payload and flex:
            ok = base64.b64encode(hashlib.sha256(body or b"").digest()).decode() == flex.strip()
            self.state.count("checksum-checked" if ok else "checksum-mismatch")
            if not ok:
                return self._error(400, BADDIGEST)
        if self.headers.get("If-Match"):
            self.state.count("if-match")
        fault = self.state.draw(self.command)
        if fault == "slowdown":
            return self._error(503, SLOWDOWN)
        if fault == "500":
            return self._error(500, INTERNAL)
        if fault == "reset":
            return self._reset()
        if fault == "delay":
            time.sleep(0.3)
        conn = http.client.HTTPConnection(self.state.host, self.state.port, timeout=60)
        hdrs = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive", "expect")}
        conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for k, v in hdrs.items():
            conn.putheader(k, v)
        conn.endheaders(body if body or self.command in ("PUT", "POST") else None)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        if resp.status == 412:
            self.state.count("412")
        self.send_response(resp.status, resp.reason)
        for k, v in resp.getheaders():
            if k.lower() in ("connection", "keep-alive", "transfer-encoding", "content-length", "date", "server"):
                continue
            self.send_header(k, v)
        if self.command == "HEAD":
            self.send_header("Content-Length", resp.getheader("Content-Length") or "0")
        else:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if fault == "truncate":
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            with self.state.lock:
                cmd, self.state.after_truncate = self.state.after_truncate, None
            if cmd:
                subprocess.run(cmd, shell=True, check=False)
            return self._reset()
        self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", type=int, required=True)
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--rate", type=float, default=0.3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--faults", default="slowdown,reset,truncate,delay,500")
    ap.add_argument("--methods")
    ap.add_argument("--log")
    ap.add_argument("--check-payload", action="store_true")
    ap.add_argument("--after-truncate")
    args = ap.parse_args()
    Handler.state = State(args)
    srv = ThreadingHTTPServer(("127.0.0.1", args.listen), Handler)
    srv.daemon_threads = True
    print("ready", args.listen, flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
