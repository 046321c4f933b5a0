#!/usr/bin/env python3
"""A stand-in for the Hugging Face Hub and its CDN, on the loopback, for the hf:// tests.

    hf_mock.py --port P --cdn-port C --root DIR [--token T] [--page-size N] [--fail429 K]
               [--ratelimit-t S] [--drop-after BYTES] [--drop-count K] [--change-on-drop]
               [--via-resolve-cache] [--lfs-min BYTES] [--log FILE]

Files are served from DIR/ORG/NAME/REVISION/... (a revision holding '/', "refs/convert/parquet",
is nested directories). Two listeners on 127.0.0.1: the Hub on P and the CDN on C. The Hub's resolve
answers redirect to http://localhost:C/..., a different host name from the Hub's 127.0.0.1, as the
real Hub's redirects go to another host (cdn-lfs.hf.co, cas-bridge.xethub.hf.co).

Hub (port P), the shapes of the real Hub:
  GET /api/datasets/ORG/NAME/tree/REV[/DIR][?recursive=true][&limit=N][&cursor=C]
      a JSON list of {"type": "file"|"directory", "oid", "size", "path"[, "lfs": {"oid", "size",
      "pointerSize"}]}; REV and DIR may be percent-encoded ("refs%2Fconvert%2Fparquet",
      "data%2Fsub", as huggingface_hub sends them). Directories are listed before the files of the
      same directory (so the whole listing is not in byte order); at most N entries a page (limit or
      --page-size), the next page named by `Link: <URL>; rel="next"`, URL absolute with an opaque cursor.
  GET|HEAD /datasets/ORG/NAME/resolve/REV/PATH
      302 to the CDN with X-Repo-Commit, X-Linked-Etag, X-Linked-Size and ETag, as the Hub answers.
      --via-resolve-cache: first a 307 with a relative Location, /api/resolve-cache/datasets/ORG/NAME/
      REV/PATH, on the Hub itself (as the Hub answers for files in its Xet storage), which then
      answers the 302 to the CDN: three hops, the first two the Hub's.
  Errors as the Hub gives them: a JSON {"error": ...} body and X-Error-Code (RepoNotFound,
  RevisionNotFound, EntryNotFound). An unknown repository answers 401 to an anonymous request and
  404 to an authenticated one (the Hub does not tell strangers which private repositories exist).
  --token T: any Hub request without `Authorization: Bearer T` answers 401.
  --fail429 K: the first K Hub requests answer 429 with `RateLimit: "api";r=0;t=S` (S: --ratelimit-t,
  default 1) and `RateLimit-Policy`, and no Retry-After, as the Hub does.
CDN (port C):
  GET|HEAD /cdn/ORG/NAME/REV/PATH?X-Amz-Signature=...: the bytes, with ETag (the sha256, quoted),
  Last-Modified, Accept-Ranges, Range (bytes=A-B, A-, -N; 206 or 416) and If-Range (an ETag or an
  HTTP date that no longer matches gets the whole file, 200). A request carrying an Authorization
  header answers 400 as a presigned S3/CloudFront URL does ("only one auth mechanism allowed"), and
  the log records it. --drop-after BYTES --drop-count K: the first K CDN GETs send their headers
  (the full Content-Length) and BYTES bytes of the body, then close the connection.
  --change-on-drop: after each such drop the file served is changed on disk (a line appended), so
  its ETag changes before the client resumes.
Every request appends a JSON line to --log: {"server": "hub"|"cdn", "host" (the Host header),
"method", "path" (with the query), "auth": true|false, "status", "range", "if_range"}. Prints
"ready" once both listeners accept."""
import argparse
import base64
import email.utils
import hashlib
import json
import os
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LFS_EXT = (".gz", ".zst", ".tar", ".parquet", ".bin", ".safetensors", ".arrow")


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.hub_count = 0
        self.cdn_gets = 0

    def log(self, rec):
        if not self.args.log:
            return
        with self.lock, open(self.args.log, "a") as f:
            f.write(json.dumps(rec) + "\n")

    def take_429(self):
        with self.lock:
            self.hub_count += 1
            return self.hub_count <= self.args.fail429

    def take_drop(self):
        with self.lock:
            self.cdn_gets += 1
            return self.cdn_gets <= self.args.drop_count


def file_info(path, rel, lfs_min):
    data = open(path, "rb").read()
    st = os.stat(path)
    oid = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
    sha = hashlib.sha256(data).hexdigest()
    ent = {"type": "file", "oid": oid, "size": len(data), "path": rel}
    if rel.endswith(LFS_EXT) or len(data) >= lfs_min:
        ent["lfs"] = {"oid": sha, "size": len(data), "pointerSize": 132 + len(str(len(data)))}
    return ent, data, sha, st.st_mtime


def dir_oid(rel):
    return hashlib.sha1(b"tree " + rel.encode()).hexdigest()


def walk_entries(base, rel_dir, recursive, lfs_min):
    """The Hub's order: a directory's subdirectories, then its files, then (recursive) each
    subdirectory's contents; each group in name order."""
    here = os.path.join(base, rel_dir) if rel_dir else base
    names = sorted(os.listdir(here))
    dirs = [n for n in names if os.path.isdir(os.path.join(here, n))]
    files = [n for n in names if os.path.isfile(os.path.join(here, n))]
    out = []
    for d in dirs:
        rel = f"{rel_dir}/{d}" if rel_dir else d
        out.append({"type": "directory", "oid": dir_oid(rel), "size": 0, "path": rel})
    for n in files:
        rel = f"{rel_dir}/{n}" if rel_dir else n
        out.append(file_info(os.path.join(here, n), rel, lfs_min)[0])
    if recursive:
        for d in dirs:
            out.extend(walk_entries(base, f"{rel_dir}/{d}" if rel_dir else d, True, lfs_min))
    return out


def split_raw(path):
    """Path segments, each percent-decoded on its own (so an encoded '/' stays inside its segment)."""
    return [urllib.parse.unquote(s) for s in path.split("/")]


def make_handler(state, role):
    args = state.args

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            pass

        def answer(self, status, body=b"", headers=(), ctype="application/json", send_body=True):
            # logged before the answer goes out: a client's next request is logged after this one
            self.record(status)
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in headers:
                self.send_header(k, v)
            self.end_headers()
            if send_body and self.command != "HEAD":
                self.wfile.write(body)

        def record(self, status):
            state.log({"server": role, "host": self.headers.get("Host"), "method": self.command, "path": self.path,
                       "auth": self.headers.get("Authorization") is not None, "status": status,
                       "range": self.headers.get("Range"), "if_range": self.headers.get("If-Range")})

        def error(self, status, code, msg):
            hdrs = [("X-Error-Code", code)] if code else []
            hdrs.append(("X-Error-Message", msg))
            self.answer(status, json.dumps({"error": msg}).encode(), hdrs)

        def do_HEAD(self):
            self.do_GET()

        def do_GET(self):
            try:
                (self.hub if role == "hub" else self.cdn)()
            except (BrokenPipeError, ConnectionResetError):
                pass

        # ---- the Hub
        def hub(self):
            if state.take_429():
                t = args.ratelimit_t
                self.answer(429, json.dumps({"error": "You have exceeded our rate limit."}).encode(),
                            [("RateLimit", f'"api";r=0;t={t}'),
                             ("RateLimit-Policy", '"fixed window";"api";q=500;w=300')])
                return
            auth = self.headers.get("Authorization")
            if args.token and auth != f"Bearer {args.token}":
                self.error(401, None, "Invalid credentials in Authorization header")
                return
            url = urllib.parse.urlsplit(self.path)
            query = urllib.parse.parse_qs(url.query)
            seg = url.path.split("/")
            # /api/datasets/ORG/NAME/tree/REV[/DIR...]
            if len(seg) >= 7 and seg[1] == "api" and seg[2] == "datasets" and seg[5] == "tree":
                self.tree(seg[3], seg[4], split_raw(seg[6])[0], "/".join(split_raw("/".join(seg[7:]))), query,
                          auth is not None)
                return
            # /datasets/ORG/NAME/resolve/REV/PATH...
            if len(seg) >= 7 and seg[1] == "datasets" and seg[4] == "resolve":
                if args.via_resolve_cache:
                    self.answer(307, b"", [("Location", "/api/resolve-cache/datasets/" + "/".join(seg[2:4] + seg[5:]))],
                                ctype="text/plain")
                    return
                self.resolve(seg[2], seg[3], urllib.parse.unquote(seg[5]), urllib.parse.unquote("/".join(seg[6:])),
                             auth is not None)
                return
            # /api/resolve-cache/datasets/ORG/NAME/REV/PATH...
            if len(seg) >= 8 and seg[1:4] == ["api", "resolve-cache", "datasets"]:
                self.resolve(seg[4], seg[5], urllib.parse.unquote(seg[6]), urllib.parse.unquote("/".join(seg[7:])),
                             auth is not None)
                return
            self.error(404, None, "Not Found")

        def repo_base(self, org, name, rev, authed):
            repo = os.path.join(args.root, org, name)
            if not os.path.isdir(repo):
                # the Hub hides a repository's existence from anonymous callers
                self.error(404 if authed else 401, "RepoNotFound", f"Repository Not Found for url: {self.path}.")
                return None
            base = os.path.join(repo, *rev.split("/"))
            if ".." in rev.split("/") or not os.path.isdir(base):
                self.error(404, "RevisionNotFound", f"Invalid rev id: {rev}")
                return None
            return base

        def tree(self, org, name, rev, rel_dir, query, authed):
            base = self.repo_base(org, name, rev, authed)
            if base is None:
                return
            rel_dir = rel_dir.strip("/")
            if ".." in rel_dir.split("/") or (rel_dir and not os.path.isdir(os.path.join(base, rel_dir))):
                self.error(404, "EntryNotFound", f"{rel_dir} does not exist on \"{rev}\"")
                return
            recursive = query.get("recursive", ["false"])[0].lower() in ("true", "1")
            entries = walk_entries(base, rel_dir, recursive, args.lfs_min)
            limit = int(query.get("limit", [args.page_size])[0])
            start = 0
            if "cursor" in query:
                start = int(base64.urlsafe_b64decode(query["cursor"][0].encode()).decode().split(":")[1])
            page = entries[start:start + limit]
            hdrs = []
            if start + limit < len(entries):
                cur = base64.urlsafe_b64encode(f"offset:{start + limit}".encode()).decode()
                q = {k: v[0] for k, v in query.items() if k != "cursor"}
                q["cursor"] = cur
                host = self.headers.get("Host") or f"127.0.0.1:{args.port}"
                nxt = f"http://{host}{urllib.parse.urlsplit(self.path).path}?{urllib.parse.urlencode(q)}"
                hdrs.append(("Link", f'<{nxt}>; rel="next"'))
            self.answer(200, json.dumps(page).encode(), hdrs)

        def resolve(self, org, name, rev, rel, authed):
            base = self.repo_base(org, name, rev, authed)
            if base is None:
                return
            path = os.path.join(base, rel)
            if ".." in rel.split("/") or not os.path.isfile(path):
                self.error(404, "EntryNotFound", f"{rel} does not exist on \"{rev}\"")
                return
            ent, data, sha, _ = file_info(path, rel, args.lfs_min)
            etag = ent["lfs"]["oid"] if "lfs" in ent else ent["oid"]
            loc = (f"http://localhost:{args.cdn_port}/cdn/{org}/{name}/{urllib.parse.quote(rev, safe='')}/"
                   f"{urllib.parse.quote(rel)}?X-Amz-Signature=mock{sha[:16]}&Expires=9999999999")
            self.answer(302, b"", [("Location", loc), ("X-Repo-Commit", hashlib.sha1(rev.encode()).hexdigest()),
                                   ("X-Linked-Etag", f'"{etag}"'), ("X-Linked-Size", str(len(data))),
                                   ("ETag", f'"{ent["oid"]}"')], ctype="text/plain")

        # ---- the CDN
        def cdn(self):
            if self.headers.get("Authorization") is not None:
                self.answer(400, b"<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed"
                            b"</Message></Error>", ctype="application/xml")
                return
            url = urllib.parse.urlsplit(self.path)
            seg = url.path.split("/")
            if len(seg) < 6 or seg[1] != "cdn":
                self.answer(404, b"<Error><Code>NoSuchKey</Code></Error>", ctype="application/xml")
                return
            org, name, rev = seg[2], seg[3], urllib.parse.unquote(seg[4])
            rel = urllib.parse.unquote("/".join(seg[5:]))
            path = os.path.join(args.root, org, name, *rev.split("/"), rel)
            if ".." in rel.split("/") or ".." in rev.split("/") or not os.path.isfile(path):
                self.answer(404, b"<Error><Code>NoSuchKey</Code></Error>", ctype="application/xml")
                return
            _, data, sha, mtime = file_info(path, rel, args.lfs_min)
            etag = f'"{sha}"'
            lastmod = email.utils.formatdate(mtime, usegmt=True)
            common = [("ETag", etag), ("Last-Modified", lastmod), ("Accept-Ranges", "bytes")]
            rng = self.headers.get("Range")
            if_range = self.headers.get("If-Range")
            if rng and if_range is not None and if_range != etag and if_range != lastmod:
                rng = None  # the file changed: RFC 9110 says send all of it
            status, body = 200, data
            if rng:
                spec = rng.strip()
                if not spec.startswith("bytes=") or "," in spec:
                    rng = None
                else:
                    a, _, b = spec[6:].partition("-")
                    n = len(data)
                    if a == "":
                        lo, hi = max(0, n - int(b)), n - 1
                    else:
                        lo, hi = int(a), (min(int(b), n - 1) if b else n - 1)
                    if lo >= n or lo > hi:
                        self.answer(416, b"", common + [("Content-Range", f"bytes */{n}")], ctype="text/plain")
                        return
                    status, body = 206, data[lo:hi + 1]
                    common.append(("Content-Range", f"bytes {lo}-{hi}/{n}"))
            if self.command == "GET" and args.drop_after is not None and state.take_drop():
                self.record(f"{status}-dropped")
                self.send_response(status)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                for k, v in common:
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body[:args.drop_after])
                self.wfile.flush()
                self.close_connection = True
                if args.change_on_drop:
                    with open(path, "ab") as f:
                        f.write(b'{"changed": true}\n')
                return
            self.answer(status, body, common, ctype="application/octet-stream")

    return H


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cdn-port", type=int, required=True)
    p.add_argument("--root", required=True)
    p.add_argument("--token")
    p.add_argument("--page-size", type=int, default=1000)
    p.add_argument("--fail429", type=int, default=0)
    p.add_argument("--ratelimit-t", type=int, default=1)
    p.add_argument("--drop-after", type=int)
    p.add_argument("--drop-count", type=int, default=1)
    p.add_argument("--change-on-drop", action="store_true")
    p.add_argument("--via-resolve-cache", action="store_true")
    p.add_argument("--lfs-min", type=int, default=1 << 20)
    p.add_argument("--log")
    args = p.parse_args()
    state = State(args)
    servers = []
    for role, port in (("hub", args.port), ("cdn", args.cdn_port)):
        srv = ThreadingHTTPServer(("127.0.0.1", port), make_handler(state, role))
        srv.daemon_threads = True
        servers.append(srv)
    for srv in servers[1:]:
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    print("ready", flush=True)
    try:
        servers[0].serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
