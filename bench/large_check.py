#!/usr/bin/env python3
"""Checks, through MLflow's REST protocol, that a server sees the large registry, before scripts/bench
measures it (the same requests to vouch and to `mlflow server`; standard library only).

    large_check.py BASE_URL TOKEN MODELS VERSIONS RUN_ID_EVERY RUN_ID

The registry is the one `vouch dev seed` and bench/mlflow_seed_large.py make, with version 1 of
`big` moved to Production by scripts/bench. Checks: version VERSIONS of `big` exists; the latest
Production version of `big` is 1 (its time printed as
LATEST_S=<seconds>); `name='big' AND run_id='RUN_ID'` matches VERSIONS / RUN_ID_EVERY
versions (every page walked, 100 a page); `name LIKE 'bench%'` matches MODELS models (pages of
1,000); page 2 of an unfiltered search, 10 a page, is bench-00010 … bench-00019. Prints
PAGE_TOKEN=<that search's first next_page_token, URL-encoded>; exit status 1 with the answer on
any failure.
"""

import http.client
import sys
import time
import urllib.parse

from mlflow_seed import Client, expect

SEARCH_VERSIONS = "/model-versions/search?filter=%s&max_results=100"
SEARCH_MODELS = "/registered-models/search?filter=%s&max_results=1000"


def walk(c, path, key):
    count, token = 0, None
    while True:
        page = c.call("GET", path + ("&page_token=" + urllib.parse.quote(token, safe="") if token else ""))
        count += len(page.get(key, []))
        token = page.get("next_page_token")
        if not token:
            return count


def main():
    if len(sys.argv) != 7:
        sys.exit(__doc__)
    url, token, run_id = sys.argv[1], sys.argv[2], sys.argv[6]
    models, versions, every = map(int, sys.argv[3:6])
    c = Client(url, token)
    started = time.monotonic()

    v = c.call("GET", "/model-versions/get?name=big&version=%d" % versions)
    expect(v.get("model_version", {}).get("source") == "s3://seed/big/%d" % versions,
           "version %d of big exists" % versions, v)
    # MLflow reads every version of the model for this (tens of seconds on a cold worker here),
    # and a worker of a freshly started `mlflow server` has dropped the connection: three tries.
    for attempt in (1, 2, 3):
        try:
            asked = time.monotonic()
            latest = c.call("POST", "/registered-models/get-latest-versions",
                            {"name": "big", "stages": ["Production"]})
            break
        except (http.client.HTTPException, ConnectionError, TimeoutError):
            c.conn = None
            if attempt == 3:
                raise
    latest_s = time.monotonic() - asked
    expect([m.get("version") for m in latest.get("model_versions", [])] == ["1"],
           "the latest Production version of big is 1", latest)
    quoted = urllib.parse.quote("name='big' AND run_id='%s'" % run_id, safe="")
    n = walk(c, SEARCH_VERSIONS % quoted, "model_versions")
    expect(n == versions // every, "%d versions of big with run id %s" % (versions // every, run_id),
           {"matched": n})
    n = walk(c, SEARCH_MODELS % urllib.parse.quote("name LIKE 'bench%'", safe=""), "registered_models")
    expect(n == models, "%d models named bench%%" % models, {"matched": n})
    first = c.call("GET", "/registered-models/search?max_results=10")
    page_token = first.get("next_page_token")
    expect(len(first.get("registered_models", [])) == 10 and page_token, "a first page of 10", first)
    quoted = urllib.parse.quote(page_token, safe="")
    second = c.call("GET", "/registered-models/search?max_results=10&page_token=" + quoted)
    names = [m.get("name") for m in second.get("registered_models", [])]
    expect(names == ["bench-%05d" % i for i in range(10, 20)], "page 2 is bench-00010 … bench-00019",
           second)
    sys.stderr.write("    checked with %d requests in %.1fs\n" % (c.count, time.monotonic() - started))
    print("PAGE_TOKEN=" + quoted)
    print("LATEST_S=%.3f" % latest_s)


if __name__ == "__main__":
    main()
