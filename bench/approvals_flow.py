#!/usr/bin/env python3
"""request -> approvals -> applied through the native API, per second (issue 12's benchmark).

Against a running vouch server (`--server URL`, the admin token in BENCH_TOKEN or `--token`): sets
up its own policy (a model-name glob of its own, so nothing else is gated), a role held by
`--approvals` approvers and one model; then each flow creates a version, opens a request for
stage:Production (as the admin, who created the version and so may not approve), and the approvers
approve it one after another; the last approval applies the move in its transaction. `--concurrency`
flows run at once, each on its own version. Every answer must be 2xx and every request must end
`applied` with the version in Production; otherwise the run fails (exit 1).

Prints one JSON line: {"flows", "approvals", "concurrency", "seconds", "flows_per_s",
"requests_per_s"} where requests_per_s counts every HTTP call of the flows (1 create-version, 1
create-request, N approvals, 1 read back).
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import threading
import time

import requests


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--server", required=True)
    ap.add_argument("--token", default=os.environ.get("BENCH_TOKEN", ""))
    ap.add_argument("--flows", type=int, default=200)
    ap.add_argument("--approvals", type=int, default=2)
    ap.add_argument("--concurrency", type=int, default=8)
    args = ap.parse_args()
    base = args.server.rstrip("/") + "/api/v1"
    tag = secrets.token_hex(4)
    admin = requests.Session()
    admin.headers["Authorization"] = f"Bearer {args.token}"

    def call(session, method, path, body=None, expect=(200, 201, 204)):
        r = session.request(method, base + path, json=body, timeout=60)
        if r.status_code not in expect:
            raise RuntimeError(f"{method} {path}: {r.status_code} {r.text[:300]}")
        return r.json() if r.content else None

    role = f"bench-approver-{tag}"
    approvers = []
    for i in range(args.approvals):
        name = f"bench-approver-{tag}-{i}"
        call(admin, "POST", "/users", {"name": name, "kind": "user",
                                       "display_name": f"Approver {i}"})
        call(admin, "PUT", f"/roles/{role}/users/{name}")
        token = call(admin, "POST", "/tokens", {"name": "bench", "owner": name})["token"]
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {token}"
        approvers.append(s)
    model = f"bench-flow-{tag}"
    policy = (f"policies:\n  - name: bench-flow-{tag}\n    target: stage:Production\n"
              f"    match: {{models: [\"{model}\"]}}\n    approvals:\n"
              f"      - {{from: [{{role: {role}}}], count: {args.approvals}}}\n")
    call(admin, "POST", "/policies", {"yaml": policy})
    call(admin, "POST", "/models", {"name": model})

    errors: list[str] = []
    calls = 0
    lock = threading.Lock()
    remaining = iter(range(args.flows))

    def worker():
        nonlocal calls
        own = requests.Session()
        own.headers.update(admin.headers)
        mine = [requests.Session() for _ in approvers]
        for s, a in zip(mine, approvers):
            s.headers.update(a.headers)
        while True:
            with lock:
                if next(remaining, None) is None or errors:
                    return
            try:
                v = call(own, "POST", f"/models/{model}/versions", {"source": "s3://bench/flow"})
                r = call(own, "POST", "/requests", {"model": model, "version": v["version"],
                                                   "target": "stage:Production"})
                for s in mine:
                    call(s, "POST", f"/requests/{r['id']}/approve", {"comment": "ok"})
                done = call(own, "GET", f"/requests/{r['id']}")
                if done["state"] != "applied":
                    raise RuntimeError(f"request {r['id']} ended {done['state']}")
                with lock:
                    calls += 3 + len(mine)
            except Exception as e:  # noqa: BLE001 - reported, fails the run
                with lock:
                    errors.append(str(e))
                return

    threads = [threading.Thread(target=worker) for _ in range(args.concurrency)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.monotonic() - started
    if errors:
        print(f"approvals_flow: FAILED: {errors[0]}", file=sys.stderr)
        return 1
    versions = call(admin, "GET", f"/models/{model}/versions?limit=1000")
    in_production = [v for v in versions["versions"] if v["stage"] == "Production"]
    # archive_existing is off: every applied flow leaves its version in Production.
    if args.flows <= 1000 and len(in_production) != args.flows:
        print(f"approvals_flow: FAILED: {len(in_production)} versions in Production, "
              f"expected {args.flows}", file=sys.stderr)
        return 1
    print(json.dumps({"flows": args.flows, "approvals": args.approvals,
                      "concurrency": args.concurrency, "seconds": round(seconds, 3),
                      "flows_per_s": round(args.flows / seconds, 1),
                      "requests_per_s": round(calls / seconds, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
