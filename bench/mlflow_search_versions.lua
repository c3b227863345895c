-- Filtered model-version search in MLflow's REST protocol:
-- GET /api/2.0/mlflow/model-versions/search?filter=name='bench' AND run_id='r1'&max_results=100
-- (URL-encoded). The seed gives more than 100 matches, so every answer is a full page with a
-- next_page_token. Replayed unchanged to `mlflow server` and to vouch's MLflow door.
local bench_dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
wrk.method = "GET"
wrk.path = "/api/2.0/mlflow/model-versions/search" ..
  "?filter=name%3D%27bench%27%20AND%20run_id%3D%27r1%27&max_results=100"
dofile(bench_dir .. "report.lua")
