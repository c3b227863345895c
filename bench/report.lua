-- Shared by every bench/*.lua workload: counts non-2xx responses per thread and, when wrk ends,
-- prints one line that scripts/bench parses:
--   BENCH_RESULT requests=N duration_s=S rps=R p50_ms=A p99_ms=B max_ms=C non2xx=K socket_errors=E
-- Each workload sets wrk.method/path/body/headers and then loads this file with
--   dofile(bench_dir .. "report.lua")
-- Requests carry `Authorization: Bearer $BENCH_TOKEN` when BENCH_TOKEN is set (vouch needs it; an
-- MLflow server without its auth app ignores it).

local token = os.getenv("BENCH_TOKEN")
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non2xx = 0
  first_bad = ""
end

-- Defining response() makes wrk hand every response to Lua; the cost is small next to a request
-- and it is the only way to see 1xx/3xx as failures too (wrk itself counts only status >= 400).
function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if first_bad == "" then
      first_bad = tostring(status) .. " " .. string.sub(body or "", 1, 300)
    end
  end
end

function done(summary, latency, requests)
  local bad = 0
  local sample = ""
  for _, t in ipairs(threads) do
    bad = bad + (t:get("non2xx") or 0)
    local s = t:get("first_bad")
    if sample == "" and s and s ~= "" then sample = s end
  end
  local e = summary.errors
  local socket_errors = e.connect + e.read + e.write + e.timeout
  local seconds = summary.duration / 1e6
  io.write(string.format(
    "BENCH_RESULT requests=%d duration_s=%.3f rps=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f " ..
    "non2xx=%d socket_errors=%d\n",
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    bad, socket_errors))
  if sample ~= "" then
    -- One line, so a multi-line body cannot break the parser.
    io.write("BENCH_FIRST_BAD " .. string.gsub(sample, "[\r\n]", " ") .. "\n")
  end
end
