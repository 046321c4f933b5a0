#!/usr/bin/env python3
"""A stand-in for the Vast.ai REST API on the loopback, for the `trainbox vast` and start_vast.sh tests.

    vast_mock.py --port P --key KEY --log FILE [--state FILE] [--fail SPEC ...] [--auth-404]
                 [--boot-polls N] [--page-size N] [--log-text FILE]

Listens on 127.0.0.1:P and prints "ready" once it accepts. The endpoints, with the response shapes the
official client (vast-ai/vast-cli's vast.py) reads:
  POST   /api/v0/bundles/                 search offers: the query body vast.py sends (field: {op: value},
                                          ops eq neq gt gte lt lte in notin; numbers may be strings;
                                          "order": [[field, "asc"|"desc"]...], "limit", "type",
                                          "allocated_storage") over a built-in list of 12 offers;
                                          answers {"offers": [...]}. Fields the offers lack are ignored;
                                          geolocation compares the country code ("Texas, US" is "US");
                                          driver_version compares as vast.py's numeric form (535086005).
  PUT    /api/v0/asks/{offer}/            create: {"success": true, "new_contract": ID}; the body (image,
                                          env, price, disk, label, onstart, runtype, cancel_unavail, ...)
                                          is kept on the instance (GET /__state shows it as create_body).
                                          Offers are not used up: a second create rents a second machine.
  GET    /api/v1/instances/               list, paged as vast.py pages it: query select_filters, order_by
                                          ([{"col","dir"}]), limit (1..25), after_token; answers
                                          {"instances": [...], "next_token": T|null, "total_instances",
                                          "label_counts"}. (GET /api/v0/instances/ answers every one.)
  GET    /api/v0/instances/{id}/?owner=me show: {"instances": ROW} ({"instances": null} once destroyed or
                                          unknown). Each show of a loading instance counts a poll: it
                                          answers actual_status "loading" to its first N shows
                                          (--boot-polls, default 2) and "running" after that.
  DELETE /api/v0/instances/{id}/          destroy: {"success": true}; unknown or gone: 404.
  PUT    /api/v0/instances/{id}/          {"state": "running"|"stopped"} (start, stop) or {"label": L}.
  PUT    /api/v0/instances/request_logs/{id}/  {"tail": N} (a number or a string of digits): answers
                                          {"success": true, "result_url": URL, "msg"}; URL is
                                          http://localhost:P/__logs/... (another host name, as the real
                                          URL is on S3), which answers 404 to its first GET, then the last
                                          N lines of the instance's log as text/plain; a request carrying
                                          an Authorization header there answers 400 (a presigned URL).
  GET    /api/v0/users/current            {"id", "username", "email", "balance", "credit", "api_key", ...}
                                          (the real answer carries the key too: vast.py pops it).
  GET    /__state                         (no auth) {"instances": [every instance ever made, destroyed ones
                                          with "destroyed": true, each with create_body and show_polls],
                                          "balance", "creates"}.
Every /api/ request needs `Authorization: Bearer KEY`: otherwise 401 {"success": false, "error":
"auth_error", "msg"} (--auth-404: 404 with the same body, as some real endpoints answer).
Failure specs (--fail, repeatable, several after one --fail):
  CODE:METHOD:PATHREGEX:COUNT[:after]  the first COUNT requests whose method is METHOD (or *) and whose
                                       path (no query) matches PATHREGEX (re.search) answer CODE (429,
                                       500, 502, ...) with a JSON error body; with ":after" the request
                                       is carried out first (a create makes its instance) and the answer
                                       is then replaced by CODE.
  lost-create[:N]  the first N (1) creates make their instance, then the connection is closed unanswered.
  never-running    instances stay "loading" forever.
  exits            instances go from "loading" to "exited" (the container died) instead of "running".
  balance=USD      the account's balance and credit (default 100).
--state FILE: instances are loaded from FILE when it exists ({"instances": [...]} as /__state gives
them; missing fields get defaults, so a test can seed instances with old start_date or a label), and
the state is written back after every change. --log-text FILE: the log every instance answers with.
Every request appends one JSON line to --log: {"method", "path", "query" (a dict of strings), "body"
(the parsed JSON or null), "auth_ok", "auth" (an Authorization header was sent), "host", "status"
(0 when the connection was dropped)}, written before the answer goes out."""
import argparse
import json
import os
import re
import socket
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def offer(oid, gpu, n, vram_mb, cpu_ram_mb, disk, dph, rel, geo, cuda, score, verified=True, rentable=True,
          external=False, machine=None, driver="550.54.14", min_bid=None):
    return {
        "id": oid, "ask_contract_id": oid, "bundle_id": oid + 7000000, "machine_id": machine or oid - 4000,
        "host_id": 90000 + (oid % 100), "gpu_name": gpu, "num_gpus": n, "gpu_ram": vram_mb,
        "gpu_total_ram": vram_mb * n, "cpu_ram": cpu_ram_mb, "cpu_cores": 16 * n, "cpu_cores_effective": 8.0 * n,
        "cpu_ghz": 3.5, "cpu_arch": "amd64", "disk_space": disk, "disk_bw": 2500.0, "dph_total": dph,
        "dph_base": round(dph * 0.95, 4), "min_bid": min_bid if min_bid is not None else round(dph * 0.4, 4),
        "storage_cost": 0.15, "inet_up_cost": 0.005, "inet_down_cost": 0.005, "reliability": rel,
        "reliability2": rel, "inet_down": 800.0, "inet_up": 600.0, "geolocation": geo, "cuda_max_good": cuda,
        "driver_version": driver, "compute_cap": 890, "total_flops": 82.0 * n, "dlperf": 30.0 * n,
        "dlperf_per_dphtotal": round(30.0 * n / dph, 2), "flops_per_dphtotal": round(82.0 * n / dph, 2),
        "pcie_bw": 25.0, "pci_gen": 4.0, "bw_nvlink": 0.0, "gpu_frac": 1.0, "gpu_mem_bw": 900.0,
        "gpu_max_power": 450.0, "gpu_max_temp": 83.0, "gpu_display_active": False, "gpu_arch": "nvidia",
        "has_avx": 1, "direct_port_count": 20, "static_ip": True, "duration": 30 * 86400.0,
        "verified": verified, "verification": "verified" if verified else "unverified", "rentable": rentable,
        "rented": False, "external": external, "datacenter": external is False and rel > 0.99,
        "vms_enabled": False, "ubuntu_version": "22.04", "mobo_name": "MOCK-BOARD", "cluster_id": None,
        "score": score,
    }


OFFERS = [
    offer(5001, "RTX 4090", 1, 24564, 64000, 200.0, 0.35, 0.995, "Texas, US", 12.4, 250.0),
    offer(5002, "RTX 4090", 2, 24564, 128000, 400.0, 0.70, 0.990, "Quebec, CA", 12.4, 310.0),
    offer(5003, "RTX 3090", 1, 24576, 32000, 100.0, 0.20, 0.970, "Bavaria, DE", 12.2, 140.0),
    offer(5004, "A100 SXM4", 8, 81920, 1024000, 2000.0, 9.60, 0.999, "Virginia, US", 12.4, 900.0, driver="535.86.05"),
    offer(5005, "H100 SXM", 8, 81559, 2048000, 4000.0, 18.00, 0.998, "Oregon, US", 12.6, 1500.0),
    offer(5006, "RTX A6000", 1, 49140, 96000, 300.0, 0.45, 0.985, "Stockholm, SE", 12.2, 200.0, driver="535.86.05"),
    offer(5007, "RTX 4090", 1, 24564, 64000, 150.0, 0.30, 0.920, "Guangdong, CN", 12.4, 120.0),
    offer(5008, "RTX 3060", 1, 12288, 16000, 50.0, 0.08, 0.960, "Hanoi, VN", 12.0, 40.0, driver="525.60.13"),
    offer(5009, "RTX 4090", 4, 24564, 256000, 800.0, 1.60, 0.993, "Taipei, TW", 12.4, 520.0, verified=False),
    offer(5010, "A40", 1, 46068, 96000, 250.0, 0.40, 0.990, "Ohio, US", 12.2, 180.0, rentable=False),
    offer(5011, "L40S", 2, 46068, 192000, 500.0, 1.50, 0.995, "London, GB", 12.4, 400.0, external=True),
    offer(5012, "RTX 4080", 1, 16376, 48000, 120.0, 0.25, 0.980, "Ontario, CA", 12.4, 150.0),
]


def numeric_version(s):
    parts = str(s).split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    return int("".join(p.zfill(3) for p in parts))


def coerce(have, want, field):
    """want (from a query) in the type of have (an offer's or instance's value); None if it can't be."""
    if field == "geolocation" and isinstance(have, str):
        return want
    if isinstance(have, bool):
        if isinstance(want, bool) or want is None:
            return want
        if isinstance(want, str) and want.lower() in ("true", "false"):
            return want.lower() == "true"
        return None
    if isinstance(have, (int, float)):
        if isinstance(want, (int, float)) and not isinstance(want, bool):
            return float(want)
        try:
            return float(want)
        except (TypeError, ValueError):
            return None
    return want


def field_value(row, field):
    v = row.get(field)
    if field == "geolocation" and isinstance(v, str):
        return v.rsplit(", ", 1)[-1]
    if field == "driver_version" and isinstance(v, str):
        return numeric_version(v)
    return v


def matches(row, filters):
    for field, ops in filters.items():
        if not isinstance(ops, dict):
            raise ValueError(f"filter for {field} is not an object")
        if field not in row:
            continue  # a field the mock's rows lack: ignored
        have = field_value(row, field)
        for op, want in ops.items():
            if op in ("in", "notin"):
                if not isinstance(want, list):
                    raise ValueError(f"{field}: {op} needs a list")
                vals = [coerce(have, w, field) for w in want]
                hit = have in vals
                if (op == "in") != hit:
                    return False
                continue
            w = coerce(have, want, field)
            if op == "eq":
                ok = have == w
            elif op == "neq":
                ok = have != w
            elif op in ("gt", "gte", "lt", "lte"):
                if have is None or w is None:
                    return False
                try:
                    ok = {"gt": have > w, "gte": have >= w, "lt": have < w, "lte": have <= w}[op]
                except TypeError:
                    return False
            else:
                raise ValueError(f"unknown operator {op!r} for {field}")
            if not ok:
                return False
    return True


def sort_rows(rows, order):
    """order: [[field, dir], ...] (bundles) or [{"col", "dir"}, ...] (v1 instances); stable, last key first."""
    for item in reversed(order or []):
        if isinstance(item, dict):
            field, direction = item.get("col"), item.get("dir", "asc")
        else:
            field, direction = item[0], item[1] if len(item) > 1 else "asc"
        present = [r for r in rows if r.get(field) is not None]
        missing = [r for r in rows if r.get(field) is None]
        present.sort(key=lambda r: r[field], reverse=(direction == "desc"))
        rows = present + missing
    return rows


DEFAULT_LOG = """mock: pulling image {image}
mock: image pulled
mock: container started
onstart: {onstart}
train: step 1
train: step 2
train: step 3
train: saving checkpoint step-3
"""


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.log_lock = threading.Lock()
        self.instances = {}  # id -> dict (internal fields prefixed "_")
        self.next_id = 31000001
        self.creates = 0
        self.balance = 100.0
        self.never_running = False
        self.exits = False
        self.lost_creates = 0
        self.fails = []  # [code, method, regex, count_left, after]
        self.logs = {}  # token -> {"id", "tail", "gets"}
        self.log_text = open(args.log_text).read() if args.log_text else None
        for spec in args.fail or []:
            self.add_fail(spec)
        if args.state and os.path.exists(args.state):
            with open(args.state) as f:
                for i, inst in enumerate(json.load(f).get("instances", [])):
                    self.seed(inst, i == 0)

    def add_fail(self, spec):
        if spec == "never-running":
            self.never_running = True
        elif spec == "exits":
            self.exits = True
        elif spec.startswith("balance="):
            self.balance = float(spec.split("=", 1)[1])
        elif spec == "lost-create" or spec.startswith("lost-create:"):
            self.lost_creates = int(spec.split(":", 1)[1]) if ":" in spec else 1
        else:
            parts = spec.split(":")
            after = parts[-1] == "after"
            if after:
                parts.pop()
            if len(parts) < 4 or not parts[0].isdigit():
                sys.exit(f"vast_mock: bad --fail spec {spec!r}")
            code, method, count = int(parts[0]), parts[1].upper(), int(parts[-1])
            self.fails.append([code, method, re.compile(":".join(parts[2:-1])), count, after])

    def take_fail(self, method, path):
        with self.lock:
            for f in self.fails:
                if f[3] > 0 and (f[1] == "*" or f[1] == method) and f[2].search(path):
                    f[3] -= 1
                    return f[0], f[4]
        return None, False

    def new_instance(self, off, body):
        iid = self.next_id
        self.next_id += 1
        env = body.get("env") if isinstance(body.get("env"), dict) else {}
        price = body.get("price")
        inst = {
            "id": iid, "machine_id": off["machine_id"], "host_id": off["host_id"], "bundle_id": off["bundle_id"],
            "actual_status": "loading", "intended_status": "running", "cur_state": "running",
            "next_state": "running", "status_msg": "Pulling image " + str(body.get("image")),
            "label": body.get("label"), "image_uuid": body.get("image"), "image_runtype": body.get("runtype"),
            "image_args": body.get("args") or [], "onstart": body.get("onstart"),
            "extra_env": [[k, v] for k, v in env.items() if not k.startswith("-")],
            "dph_total": float(price) if isinstance(price, (int, float)) else off["dph_total"],
            "dph_base": off["dph_base"], "is_bid": isinstance(price, (int, float)), "min_bid": off["min_bid"],
            "disk_space": body.get("disk"), "gpu_name": off["gpu_name"], "num_gpus": off["num_gpus"],
            "gpu_ram": off["gpu_ram"], "gpu_totalram": off["gpu_total_ram"], "cpu_ram": off["cpu_ram"],
            "cpu_cores_effective": off["cpu_cores_effective"], "geolocation": off["geolocation"],
            "inet_up": off["inet_up"], "inet_down": off["inet_down"], "reliability2": off["reliability2"],
            "cuda_max_good": off["cuda_max_good"], "driver_version": off["driver_version"],
            "verification": off["verification"], "start_date": time.time(), "uptime_mins": None,
            "ssh_host": "ssh5.vast.ai", "ssh_port": 20000 + iid % 10000, "gpu_util": None, "disk_usage": None,
            "template_id": None, "template_name": None, "volume_info": None,
            "_create_body": body, "_polls": 0, "_destroyed": False, "_offer": off["id"],
        }
        self.instances[iid] = inst
        self.creates += 1
        return inst

    def seed(self, given, first):
        """One instance from a --state file; the ids after the file's go on from its highest."""
        base = self.next_id
        inst = self.new_instance(OFFERS[0], {"image": given.get("image_uuid"), "label": given.get("label")})
        self.creates -= 1
        del self.instances[inst["id"]]
        self.next_id = base
        for k, v in given.items():
            if k == "destroyed":
                inst["_destroyed"] = bool(v)
            elif k == "create_body":
                inst["_create_body"] = v
            elif k == "show_polls":
                inst["_polls"] = int(v)
            else:
                inst[k] = v
        self.instances[inst["id"]] = inst
        self.next_id = inst["id"] + 1 if first else max(self.next_id, inst["id"] + 1)

    def live(self, iid):
        inst = self.instances.get(iid)
        return inst if inst and not inst["_destroyed"] else None

    def poll(self, inst):
        """One show of inst: a loading instance boots after --boot-polls shows."""
        if inst["actual_status"] != "loading" or inst["intended_status"] != "running":
            return
        inst["_polls"] += 1
        if self.never_running or inst["_polls"] <= self.args.boot_polls:
            return
        if self.exits:
            inst.update(actual_status="exited", status_msg="Error: container exited with code 1")
        else:
            inst.update(actual_status="running", status_msg="success, running " + str(inst["image_uuid"]),
                        uptime_mins=0.0)

    def public(self, inst):
        return {k: v for k, v in inst.items() if not k.startswith("_")}

    def snapshot(self):
        out = []
        for inst in self.instances.values():
            row = self.public(inst)
            row.update(destroyed=inst["_destroyed"], create_body=inst["_create_body"], show_polls=inst["_polls"])
            out.append(row)
        return {"instances": out, "balance": self.balance, "creates": self.creates}

    def save(self):
        if not self.args.state:
            return
        tmp = self.args.state + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.snapshot(), f, indent=1)
        os.replace(tmp, self.args.state)

    def log(self, rec):
        with self.log_lock, open(self.args.log, "a") as f:
            f.write(json.dumps(rec) + "\n")

    def log_lines(self, inst):
        if self.log_text is not None:
            text = self.log_text
        else:
            onstart = (inst.get("onstart") or "").strip().splitlines()
            text = DEFAULT_LOG.format(image=inst.get("image_uuid"), onstart=onstart[0] if onstart else "")
            if inst["actual_status"] == "exited" and inst["intended_status"] == "running":
                text += "train: error: CUDA error: an illegal memory access was encountered\n"
        return text.splitlines(keepends=True)


class ApiError(Exception):
    def __init__(self, status, error, msg):
        super().__init__(msg)
        self.status, self.error, self.msg = status, error, msg


def make_handler(state):
    args = state.args

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            pass

        def do_GET(self):
            self.handle_any()

        def do_POST(self):
            self.handle_any()

        def do_PUT(self):
            self.handle_any()

        def do_DELETE(self):
            self.handle_any()

        def read_body(self):
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                data = b""
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return data
                    data += self.rfile.read(size)
                    self.rfile.readline()
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n else b""

        def handle_any(self):
            url = urllib.parse.urlsplit(self.path)
            self.rec = {"method": self.command, "path": url.path,
                        "query": dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True)),
                        "body": None, "auth_ok": False, "auth": "Authorization" in self.headers,
                        "host": self.headers.get("Host"), "status": None}
            raw = self.read_body()
            body, bad_json = None, False
            if raw.strip():
                try:
                    body = json.loads(raw)
                except ValueError:
                    bad_json = True
            self.rec["body"] = body
            self.rec["auth_ok"] = self.headers.get("Authorization") == "Bearer " + args.key
            try:
                if url.path == "/__state" and self.command == "GET":
                    with state.lock:
                        return self.answer(200, state.snapshot())
                if url.path.startswith("/__logs/") and self.command == "GET":
                    return self.serve_log(url.path[len("/__logs/"):])
                code, after = state.take_fail(self.command, url.path)
                if code and not after:
                    return self.answer(code, {"success": False, "error": "mock_failure",
                                              "msg": f"injected {code}"})
                if not url.path.startswith("/api/"):
                    raise ApiError(404, "not_found", "no such endpoint")
                if not self.rec["auth_ok"]:
                    raise ApiError(404 if args.auth_404 else 401, "auth_error", "Invalid user key")
                if bad_json:
                    raise ApiError(400, "invalid_args", "the body is not JSON")
                with state.lock:
                    status, out = self.route(url, body)
                    if status is None:  # lost create: made, then the connection dropped
                        state.save()
                        return self.drop()
                    state.save()
                if code:
                    return self.answer(code, {"success": False, "error": "mock_failure",
                                              "msg": f"injected {code} after the request was carried out"})
                return self.answer(status, out)
            except ApiError as ex:
                return self.answer(ex.status, {"success": False, "error": ex.error, "msg": ex.msg})

        def route(self, url, body):
            p, m = url.path, self.command
            q = self.rec["query"]
            if p == "/api/v0/bundles/" and m == "POST":
                return 200, self.search(body if isinstance(body, dict) else {})
            mt = re.fullmatch(r"/api/v0/asks/(\d+)/", p)
            if mt and m == "PUT":
                return self.create(int(mt.group(1)), body)
            if p == "/api/v1/instances/" and m == "GET":
                return 200, self.list_v1(q)
            if p == "/api/v0/instances/" and m == "GET":
                rows = [state.public(i) for i in state.instances.values() if not i["_destroyed"]]
                return 200, {"instances": rows}
            mt = re.fullmatch(r"/api/v0/instances/request_logs/(\d+)/", p)
            if mt and m == "PUT":
                return self.request_logs(int(mt.group(1)), body)
            mt = re.fullmatch(r"/api/v0/instances/(\d+)/", p)
            if mt:
                iid = int(mt.group(1))
                if m == "GET":
                    inst = state.live(iid)
                    if inst:
                        state.poll(inst)
                    return 200, {"instances": state.public(inst) if inst else None}
                inst = state.live(iid)
                if not inst:
                    raise ApiError(404, "no_such_instance", f"Instance {iid} not found.")
                if m == "DELETE":
                    inst["_destroyed"] = True
                    inst["actual_status"] = inst["intended_status"] = "destroyed"
                    return 200, {"success": True}
                if m == "PUT":
                    return self.change(inst, body)
            if p == "/api/v0/users/current" and m == "GET":
                return 200, {"id": 4242, "username": "mock-user", "email": "mock@example.invalid",
                             "fullname": "Mock User", "balance": state.balance, "credit": state.balance,
                             "billed_expected": 0.0, "can_pay": True, "has_billing": True,
                             "ssh_key": None, "api_key": args.key}
            raise ApiError(404, "not_found", f"no endpoint {m} {p}")

        def search(self, query):
            filters = {k: v for k, v in query.items() if k not in ("order", "type", "limit", "allocated_storage")}
            try:
                rows = [dict(o) for o in OFFERS if matches(o, filters)]
            except ValueError as ex:
                raise ApiError(400, "invalid_args", str(ex))
            if query.get("type") == "bid":
                for r in rows:
                    r["dph_total"] = r["min_bid"]
            rows = sort_rows(rows, query.get("order"))
            limit = query.get("limit")
            if isinstance(limit, int) and limit > 0:
                rows = rows[:limit]
            return {"offers": rows}

        def create(self, oid, body):
            if not isinstance(body, dict):
                raise ApiError(400, "invalid_args", "the body must be a JSON object")
            off = next((o for o in OFFERS if o["id"] == oid), None)
            if off is None or not off["rentable"]:
                raise ApiError(404, "no_such_ask", f"Offer {oid} is no longer available.")
            if not isinstance(body.get("image"), str) or not body["image"]:
                raise ApiError(400, "invalid_args", "image is required")
            price = body.get("price")
            if price is not None and (not isinstance(price, (int, float)) or price < off["min_bid"]):
                raise ApiError(400, "invalid_args", f"bid price must be at least {off['min_bid']}")
            inst = state.new_instance(off, body)
            if state.lost_creates > 0:
                state.lost_creates -= 1
                return None, None
            return 200, {"success": True, "new_contract": inst["id"]}

        def list_v1(self, q):
            try:
                filters = json.loads(q.get("select_filters") or "{}")
                order = json.loads(q.get("order_by") or '[{"col": "id", "dir": "asc"}]')
                limit = max(1, min(int(q.get("limit") or 25), 25, args.page_size))
                start = int(bytes.fromhex(q["after_token"]).decode().split(":")[1]) \
                    if q.get("after_token") else 0
                cols = json.loads(q["select_cols"]) if q.get("select_cols") else None
            except (ValueError, IndexError, TypeError) as ex:
                raise ApiError(400, "invalid_args", f"bad list query: {ex}")
            live = [state.public(i) for i in state.instances.values() if not i["_destroyed"]]
            try:
                rows = sort_rows([r for r in live if matches(r, filters)], order)
            except ValueError as ex:
                raise ApiError(400, "invalid_args", str(ex))
            page = rows[start:start + limit]
            if cols:
                page = [{k: r.get(k) for k in cols} for r in page]
            nxt = None
            if start + limit < len(rows):
                nxt = f"after:{start + limit}".encode().hex()
            counts = {}
            for r in rows:
                counts[r.get("label") or ""] = counts.get(r.get("label") or "", 0) + 1
            return {"instances": page, "next_token": nxt, "total_instances": len(rows), "label_counts": counts}

        def change(self, inst, body):
            if not isinstance(body, dict):
                raise ApiError(400, "invalid_args", "the body must be a JSON object")
            if "label" in body:
                inst["label"] = body["label"]
            if "state" in body:
                if body["state"] == "stopped":
                    inst.update(intended_status="stopped", cur_state="stopped", next_state="stopped",
                                actual_status="exited", status_msg="stopped by the user")
                elif body["state"] == "running":
                    if inst["actual_status"] != "running":
                        inst.update(intended_status="running", cur_state="running", next_state="running",
                                    actual_status="loading", _polls=0)
                else:
                    raise ApiError(400, "invalid_args", f"unknown state {body['state']!r}")
            elif "label" not in body:
                raise ApiError(400, "invalid_args", "nothing to change")
            return 200, {"success": True}

        def request_logs(self, iid, body):
            inst = state.live(iid)
            if not inst:
                raise ApiError(404, "no_such_instance", f"Instance {iid} not found.")
            body = body if isinstance(body, dict) else {}
            tail = body.get("tail", 1000)
            if isinstance(tail, str) and tail.isdigit():
                tail = int(tail)
            if not isinstance(tail, int) or isinstance(tail, bool) or tail < 0:
                raise ApiError(400, "invalid_args", "tail must be a number")
            token = uuid.uuid4().hex
            state.logs[token] = {"id": iid, "tail": tail, "gets": 0}
            url = f"http://localhost:{args.port}/__logs/{token}.log?X-Amz-Expires=3600&X-Amz-Signature=mock{token[:8]}"
            return 200, {"success": True, "result_url": url,
                         "msg": "Logs are being uploaded; fetch result_url in a moment."}

        def serve_log(self, name):
            token = name[:-4] if name.endswith(".log") else name
            if "Authorization" in self.headers:
                return self.answer(400, b"<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism "
                                        b"allowed</Message></Error>", ctype="application/xml")
            with state.lock:
                ent = state.logs.get(token)
                if ent is None:
                    return self.answer(404, b"<Error><Code>NoSuchKey</Code></Error>", ctype="application/xml")
                ent["gets"] += 1
                if ent["gets"] == 1:
                    return self.answer(404, b"<Error><Code>NoSuchKey</Code></Error>", ctype="application/xml")
                inst = state.instances[ent["id"]]
                lines = state.log_lines(inst)
                lines = lines[-ent["tail"]:] if ent["tail"] else []
            return self.answer(200, "".join(lines).encode(), ctype="text/plain")

        def answer(self, status, out, ctype="application/json"):
            data = out if isinstance(out, bytes) else json.dumps(out).encode()
            self.rec["status"] = status
            state.log(self.rec)  # before the answer goes out: a client's next request is logged after it
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()

        def drop(self):
            self.rec["status"] = 0
            state.log(self.rec)
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    return H


def main():
    p = argparse.ArgumentParser(description="a mock Vast.ai API (see the module docstring)")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--state")
    p.add_argument("--fail", action="extend", nargs="+", default=[])
    p.add_argument("--auth-404", action="store_true")
    p.add_argument("--boot-polls", type=int, default=2)
    p.add_argument("--page-size", type=int, default=25)
    p.add_argument("--log-text")
    args = p.parse_args()
    state = State(args)
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(state))
    srv.daemon_threads = True
    print("ready", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
