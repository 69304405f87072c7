-- Saves tasks their workers start and publishes task_started for each (TaskStore.start). The
-- starts a store has in one turn of its event loop run as one script; each task is checked
-- (fenced: worker and token of its current delivery) and saved on its own.
-- KEYS: 1 inflight (routing only)
-- ARGV: 1 prefix, then per task: id, worker, token, n, n field/value entries (only the changed
--       fields: n may be 0)
-- Returns one 1 (saved) or 0 (fenced off: nothing saved) per task, in order.
local out = {}
local i = 2
while i <= #ARGV do
  local id, worker, token, n = ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3])
  local key = tkey(id)
  local f = redis.call('HMGET', key, '_owner', '_token', 'status', '_tq')
  if f[1] == worker and f[2] == token then
    if n > 0 then redis.call('HSET', key, unpack(ARGV, i + 4, i + 3 + n)) end
    move(id, f[3], sent('status', i + 4, i + 3 + n, f[3]), tq_of(id, f[4]))
    publish('task_started', id)
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
  i = i + 4 + n
end
return out
