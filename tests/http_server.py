#!/usr/bin/env python3
"""A plain HTTP file server for cat's remote tests (stdlib only, 127.0.0.1 only).

Serves the files of --dir with GET and HEAD: Range (bytes=A-, bytes=A-B), If-Range (a strong ETag
or the exact Last-Modified date), ETag (the MD5 of the bytes: a file that changes gets another) and
Last-Modified. Misbehaviour is asked for per URL, in its query string, so one server covers every case:

  ?drop=N       the first GET of this URL sends its headers and N body bytes, then drops the
                connection (once per URL; later GETs are answered normally)
  ?change=1     with drop: rewrite the file (its lines in reverse order, the same size) before
                dropping, so the resume finds another object
  ?norange=1    ignore Range: always 200 with the whole file
  ?novalid=1    send neither ETag nor Last-Modified

Every request is logged to --log as one line: METHOD PATH?QUERY range=R if-range=I -> STATUS.
"""
import argparse
import email.utils
import hashlib
import os
import socket
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DROPPED = set()
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def log(self, status):
        with LOCK, open(self.server.log_path, "a") as f:
            f.write("%s %s range=%s if-range=%s -> %d\n" % (self.command, self.path, self.headers.get("Range", "-"),
                                                           self.headers.get("If-Range", "-"), status))

    def send_plain(self, status, text):
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.log(status)

    def do_HEAD(self):
        self.serve()

    def do_GET(self):
        self.serve()

    def serve(self):
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        rel = urllib.parse.unquote(url.path).lstrip("/")
        path = os.path.realpath(os.path.join(self.server.root, rel))
        if not path.startswith(self.server.root + os.sep) or not os.path.isfile(path):
            return self.send_plain(404, "not found\n")
        with open(path, "rb") as f:
            data = f.read()
        st = os.stat(path)
        etag = '"%s"' % hashlib.md5(data).hexdigest()
        lastmod = email.utils.formatdate(st.st_mtime, usegmt=True)
        start, end = 0, len(data) - 1
        status = 200
        rng = self.headers.get("Range")
        if rng and not q.get("norange"):
            ifr = self.headers.get("If-Range")
            if ifr is None or ifr == etag or ifr == lastmod:
                spec = rng.split("=", 1)[1] if "=" in rng else ""
                a, _, b = spec.partition("-")
                try:
                    start = int(a)
                    end = int(b) if b else len(data) - 1
                except ValueError:
                    return self.send_plain(400, "bad range\n")
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", "bytes */%d" % len(data))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return self.log(416)
                end = min(end, len(data) - 1)
                status = 206
        body = data[start:end + 1]
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, len(data)))
        if not q.get("novalid"):
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", lastmod)
        self.end_headers()
        self.log(status)
        if self.command == "HEAD":
            return
        drop = int(q["drop"]) if "drop" in q else -1
        with LOCK:
            first = drop >= 0 and self.path not in DROPPED
            if first:
                DROPPED.add(self.path)
        if first and drop < len(body):
            self.wfile.write(body[:drop])
            self.wfile.flush()
            if q.get("change"):
                lines = data.splitlines(keepends=True)
                with open(path, "wb") as f:
                    f.write(b"".join(reversed(lines)))
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(body)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--log", default=os.devnull)
    a = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.daemon_threads = True
    srv.root = os.path.realpath(a.dir)
    srv.log_path = a.log
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
