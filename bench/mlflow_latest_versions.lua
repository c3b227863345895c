-- get-latest-versions in MLflow's REST protocol, as MlflowClient sends it (POST first):
-- POST /api/2.0/mlflow/registered-models/get-latest-versions {"name":"bench","stages":["Production"]}.
-- Replayed unchanged to `mlflow server` and to vouch's MLflow door.
local bench_dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local model = os.getenv("BENCH_MODEL") or "bench"
wrk.method = "POST"
wrk.path = "/api/2.0/mlflow/registered-models/get-latest-versions"
wrk.body = '{"name":"' .. model .. '","stages":["Production"]}'
wrk.headers["Content-Type"] = "application/json"
dofile(bench_dir .. "report.lua")
