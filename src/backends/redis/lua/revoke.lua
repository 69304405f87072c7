-- A waiting task (queued or delayed, not in flight) -> REVOKED, lock released, task_done published
-- (TaskStore.revoke).
-- KEYS: 1 task hash, 2 queue, 3 delayed, 4 locks, 5 ended (zset, score time ended ms)
-- ARGV: 1 id, 2 now seconds (JSON), 3 task_done channel, 4 result (JSON), 5 now ms
local id = ARGV[1]
local f = redis.call('HMGET', KEYS[1], 'status', '_qm', 'lock_id')
if not f[1] or (f[1] ~= '6' and f[1] ~= '4') then return 0 end
local removed = 0
if f[2] then removed = redis.call('ZREM', KEYS[2], f[2]) end
removed = removed + redis.call('ZREM', KEYS[3], id)
-- Not in a queue: a worker already pulled it.
if removed == 0 then return 0 end
redis.call('HSET', KEYS[1], 'status', '3', 'time_ended', ARGV[2], 'result', ARGV[4])
redis.call('ZADD', KEYS[5], ARGV[5], id)
local lock = f[3] and cjson.decode(f[3])
if type(lock) == 'string' and redis.call('HGET', KEYS[4], lock) == id then redis.call('HDEL', KEYS[4], lock) end
redis.call('PUBLISH', ARGV[3], id)
return 1
