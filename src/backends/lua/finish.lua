-- Saves a ready task, releases its lock, drops it from in-flight, publishes task_done
-- (TaskStore.finish). Nothing is saved when the worker no longer owns the task.
-- KEYS: 1 task hash, 2 owners, 3 inflight, 4 locks
-- ARGV: 1 id, 2 worker, 3 task_done channel, 4 lock id ('' for none), then field/value pairs
local id = ARGV[1]
if redis.call('HGET', KEYS[2], id) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 5, #ARGV))
redis.call('HDEL', KEYS[2], id)
redis.call('ZREM', KEYS[3], id)
-- Only this task's own hold: a later task may already own the lock id.
if ARGV[4] ~= '' and redis.call('HGET', KEYS[4], ARGV[4]) == id then redis.call('HDEL', KEYS[4], ARGV[4]) end
redis.call('PUBLISH', ARGV[3], id)
return 1
