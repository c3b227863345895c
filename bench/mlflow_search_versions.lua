-- Filtered model-version search in MLflow's REST protocol:
-- GET /api/2.0/mlflow/model-versions/search?filter=name='{model}' AND run_id='{run}'&max_results=100
-- (URL-encoded; BENCH_MODEL, default bench, and BENCH_RUN_ID, default r1). Both seeds give more
-- than 100 matches (108 of bench's 120 versions; 1,000 of big's 100,000 in the large registry), so
-- every answer is a full page with a next_page_token. Replayed unchanged to `mlflow server` and to
-- vouch's MLflow door.
local bench_dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local model = os.getenv("BENCH_MODEL") or "bench"
local run_id = os.getenv("BENCH_RUN_ID") or "r1"
wrk.method = "GET"
wrk.path = "/api/2.0/mlflow/model-versions/search" ..
  "?filter=name%3D%27" .. model .. "%27%20AND%20run_id%3D%27" .. run_id .. "%27&max_results=100"
dofile(bench_dir .. "report.lua")
