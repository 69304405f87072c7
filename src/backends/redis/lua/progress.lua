-- Stores a progress value of a task and publishes task_progress (TaskStore.progress).
-- KEYS: 1 task hash
-- ARGV: 1 id, 2 value (JSON), 3 task_progress channel
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
-- A field of its own: meta stays the client's JSON untouched (Lua's cjson would round numbers).
redis.call('HSET', KEYS[1], '_progress', ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[1])
return 1
