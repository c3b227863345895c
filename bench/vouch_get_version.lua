-- get-version on vouch: GET /api/v1/models/{model}/versions/1.
local bench_dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local model = os.getenv("BENCH_MODEL") or "bench"
wrk.method = "GET"
wrk.path = "/api/v1/models/" .. model .. "/versions/1"
dofile(bench_dir .. "report.lua")
