-- Extends the lease of `worker` to the store's now + lease when it still holds any of the
-- deliveries named (TaskStore.renew): every task it holds is leased with it (_lib.lua:
-- lease_worker).
-- KEYS: 1 inflight (routing only)
-- ARGV: 1 prefix, 2 worker, 3 lease ms, then id, token pairs
-- Returns the ids whose delivery the worker no longer holds.
local worker = ARGV[2]
local ids = {}
for k = 4, #ARGV, 2 do ids[#ids + 1] = ARGV[k] end
local current = fences(ids)
local lost, holds_any = {}, false
for t, id in ipairs(ids) do
  if current[t] == worker .. ':' .. ARGV[3 + 2 * t] then
    holds_any = true
  else
    lost[#lost + 1] = id
  end
end
if holds_any then lease_worker(worker, string.format('%d', now_ms() + tonumber(ARGV[3]))) end
return lost
