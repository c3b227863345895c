#!/usr/bin/env python3
"""Seeds a registry through MLflow's REST protocol, identically on every server it is pointed at.

    mlflow_seed.py BASE_URL [TOKEN]

Sends the same requests (keep-alive connections, standard library only) to
`mlflow server` and to vouch's MLflow door, so the measured workloads (bench/mlflow_*.lua) read the
same registry on both:

  - model `bench` with SEED_VERSIONS (120) versions of s3://bench/model.tgz, created in order; every
    tenth has run id r2, the rest r1 (108 versions match `name='bench' AND run_id='r1'`, more than
    one page of 100);
  - stages: 1 Production, 2 Archived, 3 Staging, 10 Production, every other version None
    (the transition workload cycles over 4..9);
  - models bench-000 … bench-099, each with one tag and one version (101 models match
    `name LIKE 'bench%'`; a page of 10 leaves more than 100 behind it), created over SEED_CONNECTIONS
    (4) connections at once, since MLflow takes tens of milliseconds per write.

Then checks what the workloads will read (each answer 2xx and of the expected size) and prints one
lines for scripts/bench:  PAGE_TOKEN=<the next_page_token of registered-models/search?max_results=10,
URL-encoded> and SEED_VERSIONS=<the versions of model bench>. Any non-2xx answer stops the seed with the exact request and response, exit status 1.
"""

import http.client
import json
import sys
import threading
import time
import urllib.parse

SEED_VERSIONS = 120
SEED_MODELS = 100
SEED_CONNECTIONS = 4
PREFIX = "/api/2.0/mlflow"


class Client:
    def __init__(self, base_url, token):
        url = urllib.parse.urlsplit(base_url)
        self.host, self.port = url.hostname, url.port or 80
        self.token = token
        self.headers = {"Content-Type": "application/json"}
        if token:
            self.headers["Authorization"] = "Bearer " + token
        self.conn = None
        self.count = 0

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body, separators=(",", ":"))
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                self.conn.request(method, PREFIX + path, body=data, headers=self.headers)
                response = self.conn.getresponse()
                raw = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A keep-alive connection the server closed while idle: retry once, on a new one.
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        self.count += 1
        if response.getheader("Connection", "").lower() == "close":
            self.conn.close()
            self.conn = None
        if not 200 <= response.status <= 299:
            sys.stderr.write(
                "seed request failed: %s %s%s %s\n  -> HTTP %d: %s\n"
                % (method, PREFIX, path, data or "", response.status, raw[:1000].decode("utf-8", "replace"))
            )
            sys.exit(1)
        return json.loads(raw or b"{}")


def expect(condition, what, answer):
    if not condition:
        sys.stderr.write("seed check failed: %s\n  answer: %s\n" % (what, json.dumps(answer)[:1000]))
        sys.exit(1)


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    c = Client(sys.argv[1], sys.argv[2] if len(sys.argv) == 3 else "")
    started = time.monotonic()

    c.call("POST", "/registered-models/create", {"name": "bench"})
    for n in range(1, SEED_VERSIONS + 1):
        run_id = "r2" if n % 10 == 0 else "r1"
        c.call("POST", "/model-versions/create",
               {"name": "bench", "source": "s3://bench/model.tgz", "run_id": run_id})
    for version, stage in (("1", "Production"), ("2", "Archived"), ("3", "Staging"), ("10", "Production")):
        c.call("POST", "/model-versions/transition-stage",
               {"name": "bench", "version": version, "stage": stage, "archive_existing_versions": False})

    def seed_models(first):
        own = Client(sys.argv[1], c.token)
        for i in range(first, SEED_MODELS, SEED_CONNECTIONS):
            name = "bench-%03d" % i
            own.call("POST", "/registered-models/create",
                     {"name": name, "tags": [{"key": "team", "value": "t%d" % (i % 4)}]})
            own.call("POST", "/model-versions/create",
                     {"name": name, "source": "s3://bench/%s/model.tgz" % name, "run_id": "r1"})
        with lock:
            counts.append(own.count)

    lock, counts = threading.Lock(), []
    threads = [threading.Thread(target=seed_models, args=(k,)) for k in range(SEED_CONNECTIONS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if len(counts) != SEED_CONNECTIONS:
        sys.exit(1)  # a thread failed; it has said why
    c.count += sum(counts)

    # What the workloads read.
    v = c.call("GET", "/model-versions/get?name=bench&version=1")
    expect(v.get("model_version", {}).get("current_stage") == "Production", "version 1 is in Production", v)
    latest = c.call("POST", "/registered-models/get-latest-versions",
                    {"name": "bench", "stages": ["Production"]})
    expect([m.get("version") for m in latest.get("model_versions", [])] == ["10"],
           "the latest Production version of bench is 10", latest)
    page = c.call("GET", "/model-versions/search?filter=name%3D%27bench%27%20AND%20run_id%3D%27r1%27"
                  "&max_results=100")
    expect(len(page.get("model_versions", [])) == 100 and page.get("next_page_token"),
           "a full page of 100 versions with a next_page_token", page)
    page = c.call("GET", "/registered-models/search?filter=name%20LIKE%20%27bench%25%27&max_results=50")
    expect(len(page.get("registered_models", [])) == 50, "a full page of 50 models", page)
    first = c.call("GET", "/registered-models/search?max_results=10")
    token = first.get("next_page_token")
    expect(len(first.get("registered_models", [])) == 10 and token, "a first page of 10 with a token", first)
    quoted = urllib.parse.quote(token, safe="")
    second = c.call("GET", "/registered-models/search?max_results=10&page_token=" + quoted)
    names = [m.get("name") for m in second.get("registered_models", [])]
    expect(names == ["bench-%03d" % i for i in range(9, 19)], "page 2 is bench-009 … bench-018", second)

    sys.stderr.write("    seeded with %d requests in %.1fs\n" % (c.count, time.monotonic() - started))
    print("PAGE_TOKEN=" + quoted)
    print("SEED_VERSIONS=%d" % SEED_VERSIONS)


if __name__ == "__main__":
    main()
