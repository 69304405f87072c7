-- Saves a task in RETRY, drops it from in-flight and queues it again for its eta (TaskStore.retry).
-- KEYS: 1 task hash, 2 owners, 3 inflight, 4 queue, 5 delayed, 6 seq, 7 wakeup
-- ARGV: 1 id, 2 worker, 3 now ms, 4 eta ms ('' for none), 5 task_queued channel, then field/value pairs
local id = ARGV[1]
if redis.call('HGET', KEYS[2], id) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 6, #ARGV))
redis.call('HDEL', KEYS[2], id)
redis.call('ZREM', KEYS[3], id)
local seq = tostring(redis.call('INCR', KEYS[6]))
local member = string.rep('0', 16 - #seq) .. seq .. ':' .. id
local score = redis.call('HGET', KEYS[1], '_score') or '0'
redis.call('HSET', KEYS[1], '_qm', member)
if ARGV[4] ~= '' and tonumber(ARGV[4]) > tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[5], ARGV[4], id)
else
  redis.call('ZADD', KEYS[4], score, member)
end
redis.call('LPUSH', KEYS[7], '1')
redis.call('LTRIM', KEYS[7], 0, 63)
redis.call('PUBLISH', ARGV[5], id)
return 1
