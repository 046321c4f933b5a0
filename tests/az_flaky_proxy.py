#!/usr/bin/env python3
"""A proxy in front of Azurite that spoils the first N matching requests and forwards everything
else, so tests can watch the Azure clients retry. Shared Key signs the path and headers, not the
host, so forwarded requests still authenticate.
    az_flaky_proxy.py PORT UPSTREAM_PORT N [SUBSTRING-OF-PATH-AND-QUERY [MODE]]
MODE 503 (default): answer 503 ServerBusy. MODE cut: forward a GET, then send the full headers but
only half the body and drop the connection (a transfer broken midway; the client should resume).
Spoiled requests are counted in the file named by $FLAKY_COUNT_FILE (when set). Each GET's
x-ms-range is appended to $FLAKY_RANGE_FILE (when set), followed by " if-match" when the GET
carries If-Match. $FLAKY_AFTER_CUT (when set) is a shell command run once, after the first cut and
before its connection is dropped (a test replaces the blob there)."""
import http.client
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, upstream, budget = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
match = sys.argv[4] if len(sys.argv) > 4 else ""
mode = sys.argv[5] if len(sys.argv) > 5 else "503"
lock = threading.Lock()
state = {"failed": 0}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        if self.command == "GET" and os.environ.get("FLAKY_RANGE_FILE"):
            with lock, open(os.environ["FLAKY_RANGE_FILE"], "a") as f:
                f.write((self.headers.get("x-ms-range") or "-") + (" if-match" if self.headers.get("If-Match") else "") + "\n")
        with lock:
            fail = match in self.path and state["failed"] < budget and (mode == "503" or self.command == "GET")
            if fail:
                state["failed"] += 1
                if os.environ.get("FLAKY_COUNT_FILE"):
                    with open(os.environ["FLAKY_COUNT_FILE"], "w") as f:
                        f.write(str(state["failed"]))
        if fail and mode == "cut":
            c = http.client.HTTPConnection("127.0.0.1", upstream, timeout=30)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
            c.request("GET", self.path, headers=headers)
            r = c.getresponse()
            data = r.read()
            c.close()
            self.send_response(r.status)
            for k, v in r.getheaders():
                if k.lower() not in ("transfer-encoding", "connection", "content-length", "date", "server"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            with lock:
                cmd = os.environ.pop("FLAKY_AFTER_CUT", None)
            if cmd:
                subprocess.run(cmd, shell=True, check=False)
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if fail:
            msg = (b'<?xml version="1.0" encoding="utf-8"?><Error><Code>ServerBusy</Code>'
                   b"<Message>The server is busy.</Message></Error>")
            self.send_response(503)
            self.send_header("x-ms-error-code", "ServerBusy")
            self.send_header("Content-Length", str(len(msg) if self.command != "HEAD" else 0))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(msg)
            return
        c = http.client.HTTPConnection("127.0.0.1", upstream, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        c.request(self.command, self.path, body=body if self.command in ("PUT", "POST") else None, headers=headers)
        r = c.getresponse()
        data = r.read()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length", "date", "server"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data) if self.command != "HEAD" else r.getheader("Content-Length", "0")))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        c.close()

    do_GET = do_PUT = do_HEAD = do_DELETE = do_POST = handle_any


ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
