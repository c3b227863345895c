-- get-version in MLflow's REST protocol: GET /api/2.0/mlflow/model-versions/get?name={model}&version=1.
-- Replayed unchanged to `mlflow server` and to vouch's MLflow door.
local bench_dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local model = os.getenv("BENCH_MODEL") or "bench"
wrk.method = "GET"
wrk.path = "/api/2.0/mlflow/model-versions/get?name=" .. model .. "&version=1"
dofile(bench_dir .. "report.lua")
