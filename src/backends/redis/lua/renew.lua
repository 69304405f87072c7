-- Extends the leases of deliveries `worker` still holds, to the store's now + lease (TaskStore.renew).
-- KEYS: 1 inflight
-- ARGV: 1 prefix, 2 worker, 3 lease ms, then id, token pairs
-- Returns the ids whose delivery the worker no longer holds.
local deadline = now_ms() + tonumber(ARGV[3])
local lost = {}
for k = 4, #ARGV, 2 do
  local id = ARGV[k]
  if holds(id, ARGV[2], ARGV[k + 1]) and redis.call('ZSCORE', KEYS[1], id) then
    redis.call('ZADD', KEYS[1], 'XX', deadline, id)
  else
    lost[#lost + 1] = id
  end
end
return lost
