-- Filtered registered-model search in MLflow's REST protocol:
-- GET /api/2.0/mlflow/registered-models/search?filter=name LIKE 'bench%'&max_results=50
-- (URL-encoded). The seed has 101 matching models (the large registry 20,000), each with
-- latest_versions to fill in.
-- Replayed unchanged to `mlflow server` and to vouch's MLflow door.
local bench_dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
wrk.method = "GET"
wrk.path = "/api/2.0/mlflow/registered-models/search" ..
  "?filter=name%20LIKE%20%27bench%25%27&max_results=50"
dofile(bench_dir .. "report.lua")
