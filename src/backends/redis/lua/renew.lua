-- Extends the leases of in-flight tasks still owned by `worker` (TaskStore.renew).
-- KEYS: 1 inflight, 2 owners
-- ARGV: 1 worker, 2 new deadline ms, then task ids
local renewed = 0
for k = 3, #ARGV do
  if redis.call('HGET', KEYS[2], ARGV[k]) == ARGV[1] then
    redis.call('ZADD', KEYS[1], 'XX', ARGV[2], ARGV[k])
    renewed = renewed + 1
  end
end
return renewed
