-- create-version in MLflow's REST protocol: POST /api/2.0/mlflow/model-versions/create. Replayed
-- unchanged to `mlflow server` and to vouch's MLflow door (the same source and run id as the native
-- vouch workload; MLflow's REST create takes no metrics).
local bench_dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local model = os.getenv("BENCH_MODEL") or "bench"
wrk.method = "POST"
wrk.path = "/api/2.0/mlflow/model-versions/create"
wrk.body = '{"name":"' .. model .. '","source":"s3://bench/model.tgz","run_id":"r1"}'
wrk.headers["Content-Type"] = "application/json"
dofile(bench_dir .. "report.lua")
