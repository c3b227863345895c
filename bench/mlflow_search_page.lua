-- A later page of a registered-model search in MLflow's REST protocol:
-- GET /api/2.0/mlflow/registered-models/search?max_results=10&page_token={token}
-- over the seed's 101 models (or the large registry's 20,001). The token is each server's own
-- next_page_token for the first page (`?max_results=10`), fetched once by scripts/bench before the
-- run and passed URL-encoded in BENCH_PAGE_TOKEN; the request is otherwise identical on both
-- servers.
local bench_dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local token = os.getenv("BENCH_PAGE_TOKEN") or ""
if token == "" then
  io.stderr:write("BENCH_PAGE_TOKEN is not set\n")
  os.exit(2)
end
wrk.method = "GET"
wrk.path = "/api/2.0/mlflow/registered-models/search?max_results=10&page_token=" .. token
dofile(bench_dir .. "report.lua")
