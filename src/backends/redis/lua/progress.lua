-- Stores a progress value of a task and publishes task_progress (TaskStore.progress); with a
-- fence, only for the current delivery.
-- KEYS: 1 task hash
-- ARGV: 1 prefix, 2 id, 3 value (JSON), 4 worker ('' for no fence), 5 token
if ARGV[4] ~= '' then
  if not holds(ARGV[2], ARGV[4], ARGV[5]) then return 0 end
elseif redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
-- A field of its own: meta stays the client's JSON untouched (Lua's cjson would round numbers).
redis.call('HSET', KEYS[1], '_progress', ARGV[3])
redis.call('PUBLISH', P .. 'task_progress', ARGV[2])
return 1
