-- Saves ready tasks, releases their locks, drops them from in-flight, publishes task_done for each
-- (TaskStore.finish). The finishes a store has in one turn of its event loop run as one script;
-- each task is checked on its own, and nothing is saved for one its worker no longer owns.
-- KEYS: 1 owners, 2 inflight, 3 locks, 4 ended (zset, score time ended ms, member id)
-- ARGV: 1 task key prefix, 2 task_done channel, 3 now ms (end time of a task without time_ended),
--       then per task: id, worker, lock id ('' for none), n, n field/value entries (only the changed
--       fields: n may be 0)
-- Returns one 1 (saved) or 0 (not that worker's task) per task, in order.
local prefix, channel, now = ARGV[1], ARGV[2], ARGV[3]
local out = {}
local i = 4
while i <= #ARGV do
  local id, worker, lock, n = ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3])
  if redis.call('HGET', KEYS[1], id) == worker then
    if n > 0 then redis.call('HSET', prefix .. id, unpack(ARGV, i + 4, i + 3 + n)) end
    -- Indexed by end time for purge.lua in this same script, so no ready task escapes the index.
    -- Read back after the write: only changed fields are sent, the arguments may lack the status.
    local f = redis.call('HMGET', prefix .. id, 'status', 'time_ended')
    if f[1] == '1' or f[1] == '2' or f[1] == '3' then
      local ended = tonumber(f[2] or '')
      -- Whole ms: the wire's seconds times 1000 need not come back exact in floating point.
      redis.call('ZADD', KEYS[4], ended and math.floor(ended * 1000 + 0.5) or now, id)
    end
    redis.call('HDEL', KEYS[1], id)
    redis.call('ZREM', KEYS[2], id)
    -- Only this task's own hold: a later task may already own the lock id.
    if lock ~= '' and redis.call('HGET', KEYS[3], lock) == id then redis.call('HDEL', KEYS[3], lock) end
    redis.call('PUBLISH', channel, id)
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
  i = i + 4 + n
end
return out
