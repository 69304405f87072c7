-- Saves a task its worker starts and publishes task_started (TaskStore.start).
-- KEYS: 1 task hash, 2 owners
-- ARGV: 1 id, 2 worker, 3 task_started channel, then field/value pairs
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 4, #ARGV))
redis.call('PUBLISH', ARGV[3], ARGV[1])
return 1
