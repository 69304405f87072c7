-- Saves tasks their workers start and publishes task_started for each (TaskStore.start). The
-- starts a store has in one turn of its event loop run as one script: one round trip for the
-- tasks of a pull instead of one each. Each task is checked and saved on its own.
-- KEYS: 1 owners
-- ARGV: 1 task key prefix, 2 task_started channel,
--       then per task: id, worker, n, n field/value entries (only the changed fields: n may be 0)
-- Returns one 1 (saved) or 0 (not that worker's task) per task, in order.
local prefix, channel = ARGV[1], ARGV[2]
local out = {}
local i = 3
while i <= #ARGV do
  local id, worker, n = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  if redis.call('HGET', KEYS[1], id) == worker then
    if n > 0 then redis.call('HSET', prefix .. id, unpack(ARGV, i + 3, i + 2 + n)) end
    redis.call('PUBLISH', channel, id)
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
  i = i + 3 + n
end
return out
