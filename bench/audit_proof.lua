-- wrk script: inclusion proofs of random events in the tree of SIZE events (bench/audit_proof.sh).
local size = tonumber(os.getenv("PROOF_SIZE"))
math.randomseed(os.time())
request = function()
  local seq = math.random(1, size)
  return wrk.format("GET", "/api/v1/audit/proof/inclusion?seq=" .. seq .. "&size=" .. size)
end
