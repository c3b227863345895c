-- Durable create-version on vouch: POST /api/v1/models/{model}/versions (each answered after its
-- group commit is on disk).
local bench_dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local model = os.getenv("BENCH_MODEL") or "bench"
wrk.method = "POST"
wrk.path = "/api/v1/models/" .. model .. "/versions"
wrk.body = '{"source":"s3://bench/model.tgz","run_id":"r1","metrics":{"auc":0.9}}'
wrk.headers["Content-Type"] = "application/json"
dofile(bench_dir .. "report.lua")
