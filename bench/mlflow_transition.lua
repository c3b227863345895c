-- Stage transitions in MLflow's REST protocol:
-- POST /api/2.0/mlflow/model-versions/transition-stage
--   {"name":"bench","version":"<n>","stage":"Staging","archive_existing_versions":false}
-- with <n> cycling over BENCH_TRANSITION_VERSIONS (comma-separated; default 4,5,6,7,8,9, which the
-- seed leaves in stage None). Each wrk thread and connection walks the same cycle, so both servers
-- get the same sequence of bodies. Replayed unchanged to `mlflow server` and to vouch's MLflow door.
local bench_dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local model = os.getenv("BENCH_MODEL") or "bench"
local versions = {}
for v in string.gmatch(os.getenv("BENCH_TRANSITION_VERSIONS") or "4,5,6,7,8,9", "[^,%s]+") do
  table.insert(versions, v)
end
wrk.method = "POST"
wrk.path = "/api/2.0/mlflow/model-versions/transition-stage"
wrk.headers["Content-Type"] = "application/json"
dofile(bench_dir .. "report.lua")

-- The requests are formatted on first use: wrk adds the Host header to wrk.headers in wrk.init(),
-- after this file is loaded, and an HTTP/1.1 request without Host is invalid.
local requests = nil
local next_request = 0

function request()
  if requests == nil then
    requests = {}
    for i, v in ipairs(versions) do
      requests[i] = wrk.format(nil, nil, nil, '{"name":"' .. model .. '","version":"' .. v ..
        '","stage":"Staging","archive_existing_versions":false}')
    end
  end
  next_request = next_request % #requests + 1
  return requests[next_request]
end
