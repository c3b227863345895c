-- create-version on MLflow: POST /api/2.0/mlflow/model-versions/create (same source and run id as
-- the vouch workload; MLflow's REST create takes no metrics).
local bench_dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local model = os.getenv("BENCH_MODEL") or "bench"
wrk.method = "POST"
wrk.path = "/api/2.0/mlflow/model-versions/create"
wrk.body = '{"name":"' .. model .. '","source":"s3://bench/model.tgz","run_id":"r1"}'
wrk.headers["Content-Type"] = "application/json"
dofile(bench_dir .. "report.lua")
