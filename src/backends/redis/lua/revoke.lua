-- A waiting task (queued or delayed, not in flight) -> REVOKED (time_ended: the store's now),
-- lock released, task_done published (TaskStore.revoke).
-- KEYS: 1 queue
-- ARGV: 1 prefix, 2 id, 3 result (JSON)
local id = ARGV[2]
local key = tkey(id)
local f = redis.call('HMGET', key, 'status', '_qm', 'lock_id', '_tq')
if f[1] ~= '6' and f[1] ~= '4' then return 0 end
local removed = 0
if f[2] then removed = redis.call('ZREM', KEYS[1], member_of(id, f[2])) end
removed = removed + redis.call('ZREM', P .. 'delayed', id)
-- Not in a queue: a worker already pulled it.
if removed == 0 then return 0 end
local now = now_ms()
redis.call('HSET', key, 'status', '3', 'time_ended', secs(now), 'result', ARGV[3])
became_ready(id, f[1], '3', tq_of(id, f[4]), now, f[3])
return 1
